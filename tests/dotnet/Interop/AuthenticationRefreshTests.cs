// The 11.0 .NET client's WithAuthenticationRefresh() against hubcast-conformance's
// /authorizedhub-refresh (CloseOnAuthenticationExpiration on): one connection outlives several
// tokens on every transport × protocol pair, new calls see the new claims, refusals reach
// AuthenticationRefreshFailed and change nothing.
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit;

namespace Hubcast.Interop;

public sealed class RefreshFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;
    private readonly HttpClient _http = new();

    // A 1 s clock skew: a 6 s token is really gone 7 s after it was issued.
    public async Task InitializeAsync() =>
        Server = await ServerProcess.StartAsync("hubcast-conformance", "--urls", "http://127.0.0.1:0",
            "--clock-skew-s", "1");

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await Server.DisposeAsync();
    }

    public Task<string> TokenAsync(int lifetime, string role) =>
        _http.GetStringAsync($"{Server.Url}/generateJwtToken?lifetime={lifetime}&role={role}");
}

public class AuthenticationRefreshTests : IClassFixture<RefreshFixture>
{
    private readonly RefreshFixture _f;
    public AuthenticationRefreshTests(RefreshFixture f) => _f = f;

    [Theory]
    [MemberData(nameof(Protocols.Matrix), MemberType = typeof(Protocols))]
    public async Task OneConnectionOutlivesItsTokens(string protocol, HttpTransportType transport)
    {
        var issued = 0;
        await using var c = new HubConnectionBuilder()
            .WithUrl($"{_f.Server.Url}/authorizedhub-refresh", o =>
            {
                o.Transports = transport;
                o.AccessTokenProvider = async () => await _f.TokenAsync(6, $"r{Interlocked.Increment(ref issued)}");
            })
            .WithAutomaticReconnect()
            .WithAuthenticationRefresh(o => o.RefreshBeforeExpiration = TimeSpan.FromSeconds(3))
            .Use(protocol)
            .Build();
        var refreshed = 0;
        var reconnects = 0;
        Exception? failure = null;
        var issuedAtRefresh = 0;  // the newest token a completed refresh can have carried
        c.AuthenticationRefreshed += _ =>
        {
            Volatile.Write(ref issuedAtRefresh, Volatile.Read(ref issued));
            Interlocked.Increment(ref refreshed);
            return Task.CompletedTask;
        };
        c.AuthenticationRefreshFailed += ctx => { failure = ctx.Exception; return Task.CompletedTask; };
        c.Reconnecting += _ => { Interlocked.Increment(ref reconnects); return Task.CompletedTask; };
        var started = DateTime.UtcNow;
        await c.StartAsync();
        var id = c.ConnectionId;
        // Past the first token's end (6 s, closed at expiry without a refresh) and two refreshes.
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while ((Volatile.Read(ref refreshed) < 2 || DateTime.UtcNow - started < TimeSpan.FromSeconds(7.5)) &&
               DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.Null(failure);
        Assert.True(Volatile.Read(ref refreshed) >= 2, $"{refreshed} refreshes");
        Assert.Equal(0, Volatile.Read(ref reconnects));
        Assert.Equal(HubConnectionState.Connected, c.State);
        Assert.Equal(id, c.ConnectionId);
        // New calls see a refreshed token's claims (a later refresh may be on its way meanwhile).
        var seenAfter = Volatile.Read(ref issuedAtRefresh);
        var roles = await c.InvokeAsync<string>("GetRoles");
        var n = int.Parse(roles.AsSpan(1));
        Assert.True(n >= seenAfter && n >= 3 && n <= Volatile.Read(ref issued), $"{roles}, refreshed at {seenAfter}, issued {issued}");
        Assert.Equal("testuser", await c.InvokeAsync<string>("GetUserIdentifier"));
    }

    [Fact]
    public async Task ARefusedRefreshIsReportedAndChangesNothing()
    {
        var started = false;
        await using var c = new HubConnectionBuilder()
            .WithUrl($"{_f.Server.Url}/authorizedhub-refresh-noclose", o =>
                o.AccessTokenProvider = async () => await _f.TokenAsync(60, started ? "NoRefresh" : "Viewer"))
            .WithAuthenticationRefresh(o => o.EnableAutoRefresh = false)
            .Build();
        Exception? failure = null;
        c.AuthenticationRefreshFailed += ctx => { failure = ctx.Exception; return Task.CompletedTask; };
        await c.StartAsync();
        started = true;
        await Assert.ThrowsAnyAsync<Exception>(() => c.RefreshAuthenticationAsync());
        Assert.NotNull(failure);
        Assert.Equal(HubConnectionState.Connected, c.State);
        Assert.Equal("Viewer", await c.InvokeAsync<string>("GetRoles"));
    }
}
