"""Network architectures (nn.Modules only): no I/O, no downloads, no printing."""
