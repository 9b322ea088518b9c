// dotnet ClusterNode.dll --urls http://127.0.0.1:0 --redis host:port
using Microsoft.AspNetCore.SignalR;

var builder = WebApplication.CreateBuilder(args);
var redis = builder.Configuration["redis"] ?? throw new InvalidOperationException("--redis host:port is required");
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
builder.Services.AddSignalR(o => o.EnableDetailedErrors = true)
    .AddMessagePackProtocol()
    .AddStackExchangeRedis(redis);
builder.Services.AddSingleton<IUserIdProvider, Hubcast.Conformance.QueryUserIdProvider>();
var app = builder.Build();
app.MapHub<Hubcast.Conformance.ClusterHub>("/clusterhub");
app.Run();

namespace Hubcast.Conformance
{
    // The user of a connection is its `user` query-string parameter (as hubcast-conformance).
    public sealed class QueryUserIdProvider : IUserIdProvider
    {
        public string? GetUserId(HubConnectionContext connection) =>
            connection.GetHttpContext()?.Request.Query["user"].FirstOrDefault();
    }

    public sealed class ClusterHub : Hub
    {
        public string GetConnectionId() => Context.ConnectionId;
        public Task SendToAll(string msg) => Clients.All.SendAsync("Message", msg);
        public Task SendToOthers(string msg) => Clients.Others.SendAsync("Message", msg);
        public Task SendToAllExcept(string[] ids, string msg) => Clients.AllExcept(ids).SendAsync("Message", msg);
        public Task SendToConnection(string id, string msg) => Clients.Client(id).SendAsync("Message", msg);
        public Task SendToConnections(string[] ids, string msg) => Clients.Clients(ids).SendAsync("Message", msg);
        public Task SendToUser(string user, string msg) => Clients.User(user).SendAsync("Message", msg);
        public Task SendToUsers(string[] users, string msg) => Clients.Users(users).SendAsync("Message", msg);
        public Task JoinGroup(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);
        public Task LeaveGroup(string group) => Groups.RemoveFromGroupAsync(Context.ConnectionId, group);
        public Task AddToGroup(string connectionId, string group) => Groups.AddToGroupAsync(connectionId, group);
        public Task RemoveFromGroup(string connectionId, string group) => Groups.RemoveFromGroupAsync(connectionId, group);
        public Task SendToGroup(string group, string msg) => Clients.Group(group).SendAsync("Message", msg);
        public Task SendToGroups(string[] groups, string msg) => Clients.Groups(groups).SendAsync("Message", msg);
        public Task SendToGroupExcept(string group, string[] ids, string msg) => Clients.GroupExcept(group, ids).SendAsync("Message", msg);
        public Task SendToOthersInGroup(string group, string msg) => Clients.OthersInGroup(group).SendAsync("Message", msg);
        public Task<int> InvokeClient(string connectionId) => Clients.Client(connectionId).InvokeAsync<int>("Result", CancellationToken.None);
    }
}
