"""Provider host: serves docpipe's components to Pulumi programs in any language.

`pulumi package add ./components` runs this file; the type tokens are `docpipe:index:<Type>`
(package `docpipe` = the name below, module `index`).
"""

from pulumi.provider.experimental import component_provider_host

from components import COMPONENTS

if __name__ == "__main__":
    component_provider_host(name="docpipe", components=COMPONENTS)
