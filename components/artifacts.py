"""Where DocumentPipeline finds the Lambda archives unless told: the `dist/` that `make build`
(`python -m packager`) writes in the docpipe checkout these components come from.

Not the program's working directory: the engine runs the component plugin with the consumer
project's directory as working directory, and no build is there. A consumer may still pass
`buildDir` (absolute, or relative to its own project directory).
"""

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
DEFAULT_BUILD_DIR = CHECKOUT / "dist"
