#include <hubcast/auth/claims_principal.hpp>
