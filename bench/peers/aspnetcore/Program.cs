// The ASP.NET Core SignalR peer: what our users would otherwise deploy. The same surface as
// hubcast-bench-server: [Authorize] /hubs/bench (Broadcast to all, Echo), plus the article's
// stock hub at /hubs/stocks; JWT bearer exactly as in the article (HS256 key and/or an RS256
// public key, token from the header or from access_token on /hubs), JSON and MessagePack.
//
//   dotnet BenchServer.dll --urls http://127.0.0.1:0 --hs256-key KEY [--rs256-public-key FILE]
//     [--redis host:port]   (a Redis backplane: AddStackExchangeRedis)
//     [--symbols A,B,C] [--tick-interval-ms 100]   (the stock hub's market; bench/run's stocks
//     scenario paces it with SetTickInterval, an Admin method)
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.IdentityModel.Tokens;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);

var keys = new List<SecurityKey>();
if (builder.Configuration["hs256-key"] is { Length: >= 32 } hs)
    keys.Add(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(hs)));
if (builder.Configuration["rs256-public-key"] is { Length: > 0 } pemFile)
{
    var rsa = RSA.Create();
    rsa.ImportFromPem(File.ReadAllText(pemFile));
    keys.Add(new RsaSecurityKey(rsa));
}
if (keys.Count == 0) throw new InvalidOperationException("give --hs256-key (32+ bytes) and/or --rs256-public-key");

builder.Services.AddAuthentication(options =>
{
    options.DefaultAuthenticateScheme = JwtBearerDefaults.AuthenticationScheme;
    options.DefaultChallengeScheme = JwtBearerDefaults.AuthenticationScheme;
}).AddJwtBearer(options =>
{
    options.MapInboundClaims = false;
    options.TokenValidationParameters = new TokenValidationParameters
    {
        ValidateIssuer = true, ValidateAudience = true, ValidateLifetime = true, ValidateIssuerSigningKey = true,
        ValidIssuer = "bench", ValidAudience = "bench", IssuerSigningKeys = keys,
        RoleClaimType = "role",
    };
    options.Events = new JwtBearerEvents
    {
        OnMessageReceived = context =>
        {
            var accessToken = context.Request.Query["access_token"];
            var path = context.HttpContext.Request.Path;
            if (!string.IsNullOrEmpty(accessToken) && path.StartsWithSegments("/hubs"))
                context.Token = accessToken;
            return Task.CompletedTask;
        },
    };
});
builder.Services.AddAuthorization();
var signalr = builder.Services.AddSignalR().AddMessagePackProtocol();
if (builder.Configuration["redis"] is { Length: > 0 } redis)
    signalr.AddStackExchangeRedis(redis);  // the broadcast-redis scenario
builder.Services.AddSingleton(new StockTicker(
    builder.Configuration["symbols"] is { Length: > 0 } list ? list.Split(',') : ["MSFT", "AAPL", "GOOGL", "AMZN", "NVDA", "TSLA"],
    TimeSpan.FromMilliseconds(double.Parse(builder.Configuration["tick-interval-ms"] ?? "100", System.Globalization.CultureInfo.InvariantCulture))));

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapHub<BenchHub>("/hubs/bench");
app.MapHub<StockPriceHub>("/hubs/stocks");
app.Run();

[Authorize]
public class BenchHub : Hub
{
    public Task Broadcast(string payload) => Clients.All.SendAsync("Broadcast", payload);
    public string Echo(string payload) => payload;
}

public record StockPriceEvent(string Id, string Symbol, decimal Price, DateTime Timestamp);

// The article's hub: per-connection subscriptions, a stream of the subscribed symbols.
[Authorize]
public class StockPriceHub(StockTicker ticker) : Hub
{
    public IEnumerable<string> GetAvailableSymbols() => ticker.Symbols;

    public async Task Subscribe(string symbol)
    {
        symbol = symbol.ToUpperInvariant();
        if (!ticker.Symbols.Contains(symbol))
        {
            await Clients.Caller.SendAsync("Error", $"Symbol '{symbol}' is not available.");
            return;
        }
        ticker.Subscriptions(Context.ConnectionId).Add(symbol);
        await Clients.Caller.SendAsync("Subscribed", symbol);
    }

    public async Task Unsubscribe(string symbol)
    {
        ticker.Subscriptions(Context.ConnectionId).Remove(symbol.ToUpperInvariant());
        await Clients.Caller.SendAsync("Unsubscribed", symbol);
    }

    public async IAsyncEnumerable<StockPriceEvent> StreamStockPrices(
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var subs = ticker.Subscriptions(Context.ConnectionId);
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(ticker.Interval, cancellationToken);
            foreach (var e in ticker.Latest)
                if (subs.Count == 0 || subs.Contains(e.Symbol))
                    yield return e;
        }
    }

    [Authorize(Roles = "Admin")]
    public Task BroadcastMessage(string message) => Clients.All.SendAsync("SystemMessage", message);

    // Not in the article: the benchmark's pace control (stockhub has the same Admin method).
    [Authorize(Roles = "Admin")]
    public void SetTickInterval(double milliseconds)
    {
        if (!(milliseconds >= 1 && milliseconds <= 60000))
            throw new HubException("The tick interval is from 1 to 60000 milliseconds.");
        ticker.SetInterval(TimeSpan.FromMilliseconds(milliseconds));
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        ticker.Forget(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }
}

public class StockTicker
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, HashSet<string>> _subs = new();
    private readonly Random _random = new();
    private readonly decimal[] _prices;
    private readonly Timer _timer;
    private long _id;
    public string[] Symbols { get; }
    public TimeSpan Interval { get; private set; }
    public StockPriceEvent[] Latest { get; private set; } = [];

    public StockTicker(string[] symbols, TimeSpan interval)
    {
        Symbols = symbols;
        Interval = interval;
        _prices = Symbols.Select(_ => (decimal)Math.Round(50 + _random.NextDouble() * 450, 2)).ToArray();
        _timer = new Timer(_ => Tick(), null, Interval, Interval);
    }

    public void SetInterval(TimeSpan interval)
    {
        Interval = interval;
        _timer.Change(interval, interval);
    }

    private void Tick()
    {
        var now = DateTime.UtcNow;
        Latest = Symbols.Select((s, i) =>
        {
            _prices[i] = Math.Max(0.01m, Math.Round(_prices[i] * (decimal)(1 + (_random.NextDouble() - 0.5) * 0.004), 2));
            return new StockPriceEvent(Interlocked.Increment(ref _id).ToString(), s, _prices[i], now);
        }).ToArray();
    }

    public HashSet<string> Subscriptions(string connectionId) => _subs.GetOrAdd(connectionId, _ => new HashSet<string>());
    public void Forget(string connectionId) => _subs.TryRemove(connectionId, out _);
}
