"""Altcraft's profile-import contract: operations, matching, channels, fields, value formats,
validation, the JSON and XML codec, the batch splitter and the HTTP client.

Plain Python with no Django imports: the console, the sandbox and the benchmarks share it.
"""
