// The article's .NET console snippet, run unchanged (modulo the URL and the login) against
// stockhub, over every transport × protocol pair.
using System.Net;
using System.Net.Http.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit;

namespace Hubcast.Interop;

// Exactly the article's record.
public record StockPriceEvent(string Id, string Symbol, decimal Price, DateTime Timestamp);

public sealed class StockhubFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var db = Path.Combine(Directory.CreateTempSubdirectory("stockhub-interop-").FullName, "users.db");
        Server = await ServerProcess.StartAsync("stockhub", "--environment", "Development",
            "--urls", "http://127.0.0.1:0", $"--Database:Path={db}", "--Stocks:TickInterval=00:00:00.100");
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public async Task<string> LoginAsync(string email)
    {
        using var http = new HttpClient();
        string password;
        lock (Server.Users) password = Server.Users[email];
        var res = await http.PostAsJsonAsync($"{Server.Url}/api/login", new { email, password });
        res.EnsureSuccessStatusCode();
        var body = await res.Content.ReadFromJsonAsync<LoginReply>();
        return body!.Token;
    }

    private sealed record LoginReply(string Token, string RefreshToken, DateTime ExpiresAt);
}

public class StockhubTests : IClassFixture<StockhubFixture>
{
    private readonly StockhubFixture _f;
    public StockhubTests(StockhubFixture f) => _f = f;

    private HubConnection Build(string protocol, HttpTransportType transport, string token) =>
        new HubConnectionBuilder()
            .WithUrl($"{_f.Server.Url}/hubs/stocks", options =>
            {
                options.AccessTokenProvider = () => Task.FromResult(token)!;
                options.Transports = transport;
            })
            .WithAutomaticReconnect()
            .Use(protocol)
            .Build();

    [Theory]
    [MemberData(nameof(Protocols.Matrix), MemberType = typeof(Protocols))]
    public async Task ArticleSnippetStreamsSubscribedPrices(string protocol, HttpTransportType transport)
    {
        var token = await _f.LoginAsync("trader@stockhub.local");
        await using var connection = Build(protocol, transport, token);
        var subscribed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<string>("Subscribed", s => subscribed.TrySetResult(s));
        await connection.StartAsync();
        Assert.Equal(HubConnectionState.Connected, connection.State);

        var symbols = await connection.InvokeAsync<string[]>("GetAvailableSymbols");
        Assert.Contains("MSFT", symbols);

        await connection.InvokeAsync("Subscribe", "MSFT");
        Assert.Equal("MSFT", await subscribed.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new List<StockPriceEvent>();
        await foreach (var price in connection.StreamAsync<StockPriceEvent>("StreamStockPrices", cts.Token))
        {
            received.Add(price);
            if (received.Count == 3) break;  // disposes the enumerator: CancelInvocation
        }
        Assert.All(received, p =>
        {
            Assert.Equal("MSFT", p.Symbol);
            Assert.True(p.Price > 0m);
            Assert.False(string.IsNullOrEmpty(p.Id));
            Assert.InRange(p.Timestamp.ToUniversalTime(), DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));
        });
        // The connection is still usable after the stream was cancelled.
        await connection.InvokeAsync("Unsubscribe", "MSFT");
        Assert.Contains("AAPL", await connection.InvokeAsync<string[]>("GetAvailableSymbols"));
    }

    [Theory]
    [MemberData(nameof(Protocols.Both), MemberType = typeof(Protocols))]
    public async Task AdminBroadcastReachesTradersAndTradersAreRefused(string protocol)
    {
        var admin = Build(protocol, HttpTransportType.WebSockets, await _f.LoginAsync("admin@stockhub.local"));
        var trader = Build(protocol, HttpTransportType.WebSockets, await _f.LoginAsync("trader@stockhub.local"));
        await using var _a = admin;
        await using var _t = trader;
        var system = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        trader.On<string>("SystemMessage", m => system.TrySetResult(m));
        await admin.StartAsync();
        await trader.StartAsync();

        Assert.True(await admin.InvokeAsync<int>("GetConnectedUsersCount") >= 2);
        await admin.InvokeAsync("BroadcastMessage", $"maintenance at noon ({protocol})");
        Assert.Equal($"maintenance at noon ({protocol})", await system.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        var refused = await Assert.ThrowsAsync<HubException>(() => trader.InvokeAsync("BroadcastMessage", "nope"));
        Assert.Equal("Failed to invoke 'BroadcastMessage' because user is unauthorized", refused.Message);
        Assert.Equal(HubConnectionState.Connected, trader.State);
    }

    [Fact]
    public async Task ConnectingWithoutATokenIsRefusedWith401()
    {
        await using var connection = new HubConnectionBuilder().WithUrl($"{_f.Server.Url}/hubs/stocks").Build();
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
    }

    [Fact]
    public async Task AnInvalidSymbolIsReportedThroughError()
    {
        await using var connection = Build("json", HttpTransportType.WebSockets, await _f.LoginAsync("trader@stockhub.local"));
        var error = Channel.CreateUnbounded<string>();
        connection.On<string>("Error", m => error.Writer.TryWrite(m));
        await connection.StartAsync();
        await connection.InvokeAsync("Subscribe", "NOPE");
        var text = await error.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("Symbol 'NOPE' is not available. Available symbols: ", text);
    }
}
