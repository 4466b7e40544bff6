"""Collection: documents gathered on a schedule from web pages, feeds, sitemaps and buckets.

Modules, from the configuration to the cloud (docs/collection.md):
  sources    the `docpipe:sources` model, its validation and the scheduler message (stdlib only:
             the stack calls it at preview time)
  settings   the runtime contract: environment variable names, defaults, the table key prefix
  policy     the IAM statements the collector and each source kind need (pure data)
  addresses  which network addresses a fetch may connect to (SSRF guard)
  sniff      the media type of a document from its first bytes
  fetch      the HTTP client: pinned connections, redirects re-checked, retries, size cap
  discover   document links from RSS 2.0, Atom and sitemaps (defusedxml)
  collector  one source's run: what is new or changed is stored, the rest is skipped
  aws        the DynamoDB seen-store, the S3 object store and bucket reader, the Lambda entry
"""
