#include "auth/claims_principal.hpp"
