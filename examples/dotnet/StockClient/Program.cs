// The article's .NET console client against stockhub, runnable:
//
//   STOCKHUB_EMAIL=trader@stockhub.local STOCKHUB_PASSWORD=... dotnet run --project examples/dotnet/StockClient
//
// Logs in, keeps its token fresh through /api/refresh in AccessTokenProvider and hands each new
// token to the open connection a minute before the old one ends (11.0's WithAuthenticationRefresh:
// no reconnect, no gap in the stream), subscribes and streams prices; after an automatic
// reconnect it streams again. Environment as the Node example:
// STOCKHUB_URL (https://localhost:5001 needs the dev certificate trusted, e.g. SSL_CERT_FILE),
// STOCKHUB_EMAIL, STOCKHUB_PASSWORD, STOCKHUB_SYMBOLS, STOCKHUB_PROTOCOL (json | messagepack),
// STOCKHUB_COUNT (exit after that many prices).
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

var apiUrl = (Environment.GetEnvironmentVariable("STOCKHUB_URL") ?? "http://localhost:5000").TrimEnd('/');
var email = Environment.GetEnvironmentVariable("STOCKHUB_EMAIL");
var password = Environment.GetEnvironmentVariable("STOCKHUB_PASSWORD");
var symbols = (Environment.GetEnvironmentVariable("STOCKHUB_SYMBOLS") ?? "MSFT,AAPL").Split(',');
var count = int.Parse(Environment.GetEnvironmentVariable("STOCKHUB_COUNT") ?? "0");
if (email is null || password is null)
{
    Console.Error.WriteLine("StockClient: set STOCKHUB_EMAIL and STOCKHUB_PASSWORD");
    return 2;
}

// No automatic redirects: stockhub with HTTPS bound answers plain HTTP with 307, said plainly.
var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(apiUrl) };
async Task<Tokens> Post(string path, object body)
{
    var res = await http.PostAsJsonAsync(path, body);
    if ((int)res.StatusCode is >= 300 and < 400)
        throw new InvalidOperationException($"{apiUrl} redirects to {res.Headers.Location}: set STOCKHUB_URL to the https:// URL");
    if (res.StatusCode != HttpStatusCode.OK)
        throw new InvalidOperationException($"{path} answered {(int)res.StatusCode}");
    return (await res.Content.ReadFromJsonAsync<Tokens>())!;
}

Tokens tokens;
var obtained = DateTimeOffset.UtcNow;
try
{
    tokens = await Post("/api/login", new { email, password });
}
catch (Exception e) when (e is InvalidOperationException or HttpRequestException)
{
    Console.Error.WriteLine($"StockClient: {e.Message}");
    return 1;
}

// The open connection asks for a new token this long before the current one ends (or at half
// its life when it lives less than twice this).
var refreshBefore = TimeSpan.FromSeconds(60);
var gate = new SemaphoreSlim(1);
async Task<string?> AccessToken()
{
    await gate.WaitAsync();
    try
    {
        // Renewed when the connection asks (refreshBefore before its end, or half its life, and
        // a second of slack), never for a connection that starts with a fresh one.
        var margin = TimeSpan.FromTicks(Math.Min(refreshBefore.Ticks, (tokens.ExpiresAt - obtained).Ticks / 2))
                     + TimeSpan.FromSeconds(1);
        if (DateTimeOffset.UtcNow >= tokens.ExpiresAt - margin)
        {
            try
            {
                obtained = DateTimeOffset.UtcNow;
                tokens = await Post("/api/refresh", new { refreshToken = tokens.RefreshToken });
                Console.WriteLine($"token refreshed, expires at {tokens.ExpiresAt:HH:mm:ss}");
            }
            catch (InvalidOperationException)
            {
                obtained = DateTimeOffset.UtcNow;
                tokens = await Post("/api/login", new { email, password });
                Console.WriteLine("logged in again");
            }
        }
        return tokens.Token;
    }
    finally
    {
        gate.Release();
    }
}

var builder = new HubConnectionBuilder()
    .WithUrl($"{apiUrl}/hubs/stocks", options => options.AccessTokenProvider = AccessToken)
    .WithAutomaticReconnect()
    .WithAuthenticationRefresh(o => o.RefreshBeforeExpiration = refreshBefore);
// MessagePack: the record below binds by member name (PascalCase), as ASP.NET Core writes it.
if (Environment.GetEnvironmentVariable("STOCKHUB_PROTOCOL") == "messagepack") builder.AddMessagePackProtocol();
var connection = builder.Build();

connection.On<string>("SystemMessage", message => Console.WriteLine($"System: {message}"));
connection.On<string>("Subscribed", symbol => Console.WriteLine($"Subscribed to: {symbol}"));

var done = new TaskCompletionSource();
var received = 0;
async Task Stream()
{
    try
    {
        await foreach (var price in connection.StreamAsync<StockPriceEvent>("StreamStockPrices"))
        {
            Console.WriteLine($"{price.Symbol}: ${price.Price} at {price.Timestamp:HH:mm:ss}");
            if (count > 0 && Interlocked.Increment(ref received) >= count) done.TrySetResult();
        }
    }
    catch (Exception) when (connection.State != HubConnectionState.Connected)
    {
        // The connection dropped: Reconnected starts a new stream.
    }
}

connection.Reconnecting += e => { Console.WriteLine($"reconnecting: {e?.Message}"); return Task.CompletedTask; };
connection.Reconnected += async connectionId =>
{
    Console.WriteLine("reconnected");
    foreach (var s in symbols) await connection.InvokeAsync("Subscribe", s);
    _ = Stream();
};
connection.Closed += e => { done.TrySetException(e ?? new Exception("closed")); return Task.CompletedTask; };

await connection.StartAsync();
Console.WriteLine("Connected to hub");
foreach (var s in symbols) await connection.InvokeAsync("Subscribe", s);
_ = Stream();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; done.TrySetResult(); };
try
{
    await done.Task;
}
catch (Exception e)
{
    Console.Error.WriteLine($"StockClient: connection closed: {e.Message}");
    return 1;
}
await connection.StopAsync();
return 0;

record Tokens(string Token, string RefreshToken, DateTimeOffset ExpiresAt);
// Public members with the hub's names: the JSON protocol binds case-insensitively, MessagePack
// by exact (PascalCase) name; stockhub sends the decimal price as MessagePack sends a decimal.
public record StockPriceEvent(string Id, string Symbol, decimal Price, DateTime Timestamp);
