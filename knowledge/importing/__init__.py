"""Reading ticket files: streaming parsers, column mapping, row validation, PII redaction, dedup.

Plain Python, no Django: every function here takes text, paths and dicts and is tested alone.
"""
