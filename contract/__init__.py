"""The runtime contract: what the stack, the handlers, local mode and the operator tools share.

Pure Python, standard library only, shipped in every function's code zip. One module per
fact: the stage table (`stages`), the bucket's layout (`layout`), the environment each
function gets (`settings`), the messages between stages (`messages`), the categories
(`categories`), the typed document errors (`errors`) and the AWS rules both the components
and the policy pack enforce (`aws`). The stack writes these values, the handlers read them;
neither side spells a name or a default of its own.
"""
