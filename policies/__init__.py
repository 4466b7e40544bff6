"""docpipe's CrossGuard policy pack: rule modules per service, plus the offline gate (`gate/`).

Importing this package or any rule module has no side effect: `PolicyPack(...)`, which starts
a gRPC server and never returns, is only called from `__main__.py` when the Pulumi CLI runs it.
"""
