using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Hubcast.Interop;

public static class Protocols
{
    // Every transport × protocol pair the official .NET client can use with our server
    // (MessagePack is binary, so it cannot go over Server-Sent Events).
    public static TheoryData<string, HttpTransportType> Matrix => new()
    {
        { "json", HttpTransportType.WebSockets },
        { "messagepack", HttpTransportType.WebSockets },
        { "json", HttpTransportType.ServerSentEvents },
        { "json", HttpTransportType.LongPolling },
        { "messagepack", HttpTransportType.LongPolling },
    };

    public static TheoryData<string> Both => new() { "json", "messagepack" };

    public static IHubConnectionBuilder Use(this IHubConnectionBuilder b, string protocol) =>
        protocol == "messagepack" ? b.AddMessagePackProtocol() : b;
}
