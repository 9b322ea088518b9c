// The page's colors, from the CSS variables of the current scheme (style.css).
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
