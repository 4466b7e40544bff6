"""Collection: documents gathered on a schedule from web pages, feeds, sitemaps and buckets.

Modules, from the configuration to the cloud (docs/collection.md; the sources model and the
scheduler message are contract/sources.py, the IAM an s3 source adds components/collection.py):
  settings   the runtime contract: environment variable names, defaults, the table key prefix
  addresses  which network addresses a fetch may connect to (SSRF guard)
  sniff      the media type of a document from its first bytes
  fetch      the HTTP client: pinned connections, redirects re-checked, retries, size cap
  discover   document links from RSS 2.0, Atom and sitemaps (defusedxml)
  collector  one source's run: what is new or changed is stored, the rest is skipped
  aws        the DynamoDB seen-store, the S3 object store and bucket reader, the Lambda entry
"""
