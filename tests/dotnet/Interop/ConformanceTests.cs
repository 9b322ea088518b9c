// The core conformance scenarios with the official .NET client against hubcast-conformance:
// every message type, both stream directions, client results, errors, auth.
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit;

namespace Hubcast.Interop;

public class ComplexObject
{
    public string String { get; set; } = "";
    public int[] IntArray { get; set; } = [];
    public byte[] ByteArray { get; set; } = [];
    public string Guid { get; set; } = "";
    public DateTime DateTime { get; set; }
}

public class CustomObject
{
    public string Name { get; set; } = "";
    public int Value { get; set; }
}

public sealed class ConformanceFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;
    public async Task InitializeAsync() =>
        Server = await ServerProcess.StartAsync("hubcast-conformance", "--urls", "http://127.0.0.1:0");
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public class ConformanceTests : IClassFixture<ConformanceFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly ConformanceFixture _f;
    public ConformanceTests(ConformanceFixture f) => _f = f;

    private HubConnection Build(string protocol, HttpTransportType transport, string path = "/testhub",
        Action<IHubConnectionBuilder>? configure = null)
    {
        var b = new HubConnectionBuilder()
            .WithUrl($"{_f.Server.Url}{path}", o => o.Transports = transport)
            .Use(protocol);
        configure?.Invoke(b);
        return b.Build();
    }

    [Theory]
    [MemberData(nameof(Protocols.Matrix), MemberType = typeof(Protocols))]
    public async Task InvocationsResultsAndErrors(string protocol, HttpTransportType transport)
    {
        await using var c = Build(protocol, transport);
        await c.StartAsync();
        Assert.Equal("hello", await c.InvokeAsync<string>("Echo", "hello"));
        Assert.Equal(transport.ToString(), await c.InvokeAsync<string>("GetActiveTransportName"));
        Assert.Equal(c.ConnectionId, await c.InvokeAsync<string>("GetCallerConnectionId"));
        Assert.Null(await c.InvokeAsync<string?>("GetCookie", "no-such-cookie"));

        var e = await Assert.ThrowsAsync<HubException>(() => c.InvokeAsync("ThrowException", "boom"));
        Assert.Equal("An unexpected error occurred invoking 'ThrowException' on the server. InvalidOperationException: boom", e.Message);

        // Server-to-client invocations: fire-and-forget with arguments of several types.
        var message = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        c.On<string>("Message", m => message.TrySetResult(m));
        await c.InvokeAsync("InvokeWithString", "from the server");
        Assert.Equal("from the server", await message.Task.WaitAsync(Wait));

        var custom = new TaskCompletionSource<CustomObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        c.On<CustomObject>("CustomObject", o => custom.TrySetResult(o));
        await c.SendAsync("SendCustomObject", new CustomObject { Name = "widget", Value = 42 });
        var got = await custom.Task.WaitAsync(Wait);
        Assert.Equal(("widget", 42), (got.Name, got.Value));
    }

    [Theory]
    [MemberData(nameof(Protocols.Both), MemberType = typeof(Protocols))]
    public async Task ComplexObjectsKeepProtocolTypes(string protocol)
    {
        await using var c = Build(protocol, HttpTransportType.WebSockets);
        await c.StartAsync();
        var fixedValue = await c.InvokeAsync<ComplexObject>("SendComplexObject");
        Assert.Equal("hello world", fixedValue.String);
        Assert.Equal(new[] { 1, 2, 3 }, fixedValue.IntArray);
        Assert.Equal(new byte[] { 1, 2, 3 }, fixedValue.ByteArray);
        Assert.Equal("00010203-0405-0607-0706-050403020100", fixedValue.Guid);
        Assert.Equal(new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc), fixedValue.DateTime.ToUniversalTime());

        var sent = new ComplexObject
        {
            String = "ünïcode ✓", IntArray = [-1, 0, int.MaxValue], ByteArray = [0, 255, 7],
            Guid = System.Guid.NewGuid().ToString(), DateTime = new DateTime(2024, 2, 29, 12, 30, 15, DateTimeKind.Utc),
        };
        var echoed = await c.InvokeAsync<ComplexObject>("EchoComplexObject", sent);
        Assert.Equal(sent.String, echoed.String);
        Assert.Equal(sent.IntArray, echoed.IntArray);
        Assert.Equal(sent.ByteArray, echoed.ByteArray);
        Assert.Equal(sent.Guid, echoed.Guid);
        Assert.Equal(sent.DateTime, echoed.DateTime.ToUniversalTime());
    }

    [Theory]
    [MemberData(nameof(Protocols.Matrix), MemberType = typeof(Protocols))]
    public async Task StreamsInBothDirections(string protocol, HttpTransportType transport)
    {
        await using var c = Build(protocol, transport);
        await c.StartAsync();

        var items = new List<string>();
        await foreach (var s in c.StreamAsync<string>("Stream")) items.Add(s);
        Assert.Equal(new[] { "a", "b", "c" }, items);

        var none = await c.StreamAsChannelAsync<int>("EmptyStream");
        Assert.False(await none.WaitToReadAsync());

        var failing = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in c.StreamAsync<string>("StreamThrowException", "bad")) { }
        });
        Assert.Equal("An unexpected error occurred invoking 'StreamThrowException' on the server. InvalidOperationException: bad", failing.Message);

        // Upload: a ChannelReader argument becomes a client-to-server stream.
        var upload = Channel.CreateUnbounded<string>();
        var concat = c.InvokeAsync<string>("StreamingConcat", upload.Reader);
        foreach (var s in new[] { "x", "y", "z" }) await upload.Writer.WriteAsync(s);
        upload.Writer.Complete();
        Assert.Equal("xyz", await concat.WaitAsync(Wait));

        // Cancelling a server stream: the hub sees the CancelInvocation.
        var canceled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        c.On("StreamCanceled", () => canceled.TrySetResult());
        using var cts = new CancellationTokenSource();
        var reader = await c.StreamAsChannelAsync<string>("InfiniteStream", cts.Token);
        await Task.Delay(100);
        cts.Cancel();
        await canceled.Task.WaitAsync(Wait);
    }

    [Theory]
    [MemberData(nameof(Protocols.Both), MemberType = typeof(Protocols))]
    public async Task ClientResults(string protocol)
    {
        await using var c = Build(protocol, HttpTransportType.WebSockets);
        c.On("Result", () => 42);
        await c.StartAsync();
        using var http = new HttpClient();
        Assert.Equal("42", await http.GetStringAsync($"{_f.Server.Url}/clientresult/{c.ConnectionId}"));
    }

    [Theory]
    [MemberData(nameof(Protocols.Both), MemberType = typeof(Protocols))]
    public async Task AuthorizedHubWithBearerToken(string protocol)
    {
        using var http = new HttpClient();
        var token = await http.GetStringAsync($"{_f.Server.Url}/generateJwtToken");
        await using var c = Build(protocol, HttpTransportType.WebSockets, "/authorizedhub",
            b => b.WithUrl($"{_f.Server.Url}/authorizedhub", o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)));
        await c.StartAsync();
        Assert.Equal("secured", await c.InvokeAsync<string>("Echo", "secured"));

        await using var anonymous = Build(protocol, HttpTransportType.WebSockets, "/authorizedhub");
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.StartAsync());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, e.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Protocols.Both), MemberType = typeof(Protocols))]
    public async Task StatefulReconnectNegotiatesAndWorks(string protocol)
    {
        await using var c = Build(protocol, HttpTransportType.WebSockets, "/testhub", b => b.WithStatefulReconnect());
        await c.StartAsync();
        var items = new List<string>();
        await foreach (var s in c.StreamAsync<string>("Stream")) items.Add(s);
        Assert.Equal(new[] { "a", "b", "c" }, items);
        Assert.Equal("ok", await c.InvokeAsync<string>("Echo", "ok"));
    }

    [Fact]
    public async Task UncreatableHubClosesWithAnError()
    {
        await using var c = Build("json", HttpTransportType.WebSockets, "/uncreatable");
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        c.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };
        try
        {
            await c.StartAsync();
            await c.InvokeAsync<string>("Echo", "never");
        }
        catch (Exception) { }
        var error = await closed.Task.WaitAsync(Wait);
        Assert.NotNull(error);
        Assert.Contains("Connection closed with an error.", error!.Message);
    }

    // 11.0: cancelling the token given to InvokeAsync sends CancelInvocation; the hub method's
    // cancellation_token sees it.
    [Theory]
    [MemberData(nameof(Protocols.Matrix), MemberType = typeof(Protocols))]
    public async Task CancellingAnInvokeCancelsTheHubMethod(string protocol, HttpTransportType transport)
    {
        await using var c = Build(protocol, transport);
        await c.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => c.InvokeAsync<string>("WaitForCancellation", 20000, cts.Token));
        // One invocation at a time: this answers once the cancelled one has.
        Assert.Equal("cancelled", await c.InvokeAsync<string>("GetLastCancellation"));
        Assert.Equal("timed out", await c.InvokeAsync<string>("WaitForCancellation", 10));
    }
}
