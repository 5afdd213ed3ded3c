"""The Go data plane (`data_plane = "go"`, ADR 0052): a supervised Go process serves the
public port and proxies warm functions' invocations itself; the control plane behind it (on a
private Unix socket) keeps everything else and configures it with a pushed route table."""
