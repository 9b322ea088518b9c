// Starts one of our servers (hubcast-conformance, stockhub) as a child process on a free port and
// reads what it prints: the listening URL, and the development users' passwords.
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Hubcast.Interop;

public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _url = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Text.StringBuilder _output = new();
    public Dictionary<string, string> Users { get; } = new();
    public string Url { get; private set; } = "";
    public string Output { get { lock (_output) return _output.ToString(); } }

    public static string BinDir =>
        Environment.GetEnvironmentVariable("HUBCAST_BIN") is { Length: > 0 } dir
            ? dir
            : Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../../build/bin"));

    private ServerProcess(string exe, IEnumerable<string> args, string workDir)
    {
        var psi = new ProcessStartInfo(Path.Combine(BinDir, exe))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workDir,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        var user = Regex.Match(line, @"Development user: (\S+) / (\S+)");
        if (user.Success) lock (Users) Users[user.Groups[1].Value] = user.Groups[2].Value;
        var listening = Regex.Match(line, @"Now listening on: (http://\S+)");
        if (listening.Success) _url.TrySetResult(listening.Groups[1].Value);
    }

    public static async Task<ServerProcess> StartAsync(string exe, params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory("hubcast-interop-").FullName;
        var server = new ServerProcess(exe, args, dir);
        if (!server._process.Start()) throw new InvalidOperationException($"cannot start {exe}");
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        var done = await Task.WhenAny(server._url.Task, Task.Delay(TimeSpan.FromSeconds(20)));
        if (done != server._url.Task)
            throw new TimeoutException($"{exe} did not start: {server.Output}");
        server.Url = await server._url.Task;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
