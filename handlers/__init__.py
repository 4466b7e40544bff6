"""docpipe Lambda handlers: one module per function over pure, AWS-free logic.

Stage modules (`ocr`, `summarize`, `classify`, `sweep`) expose `lambda_handler`; the pure
logic lives in `ocr_engine`, `summarizer` and `classifier`, which never touch AWS.
Keep this file empty of imports: every stage imports it, and cold start must stay cheap.
"""
