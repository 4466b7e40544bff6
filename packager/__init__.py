"""Build each Lambda function's code zip and dependency layer, byte-for-byte reproducibly.

`python -m packager` (= `make build`) writes `dist/functions/<stage>.zip` and
`dist/layers/<stage>.zip`; `packager.nltk_data.bundle(dest)` writes the punkt_tab data.
"""
