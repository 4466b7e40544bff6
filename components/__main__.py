"""Plugin entry point: the engine runs `<plugin venv>/bin/python <this directory> <engine address>`.

`pulumi package add <path>/components` installs the plugin (PulumiPlugin.yaml, requirements.txt)
and runs this file; see components/host.py for what it serves.
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    # `python <directory>` puts the directory itself first on sys.path, where its modules would
    # shadow top-level ones (a `components/queue.py` would hide the standard `queue`). The
    # components are imported as the installed `components` package instead.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]

    from components.host import serve

    serve()
