"""Altcraft's profile-import contract: operations, matching, fields, validation and codec.

Pure Python with no Django imports, so the console, the sandbox and the benchmarks share it.
"""

from .batching import Chunk, ProfileTooLarge, split_into_chunks
from .channels import CHANNELS, SUBSCRIPTION_STATUSES, Channel
from .codec import (
    PayloadError,
    decode,
    decode_response,
    detect_format,
    encode,
    encode_json,
    encode_xml,
)
from .errors import ERROR_CODES, describe_error
from .fields import ACTIONS, CUSTOM_FIELD_TYPES, SYSTEM_FIELDS, SystemField
from .matching import MATCHING_MODES, MatchingMode, matching_values
from .operations import OPERATIONS, Operation, Param, UnknownOperation, get_operation
from .validation import Problem, validate, validate_profile, validate_subscription

__all__ = [
    "ACTIONS",
    "CHANNELS",
    "CUSTOM_FIELD_TYPES",
    "ERROR_CODES",
    "MATCHING_MODES",
    "OPERATIONS",
    "SUBSCRIPTION_STATUSES",
    "SYSTEM_FIELDS",
    "Channel",
    "Chunk",
    "MatchingMode",
    "Operation",
    "Param",
    "PayloadError",
    "Problem",
    "ProfileTooLarge",
    "SystemField",
    "UnknownOperation",
    "decode",
    "decode_response",
    "describe_error",
    "detect_format",
    "encode",
    "encode_json",
    "encode_xml",
    "get_operation",
    "matching_values",
    "split_into_chunks",
    "validate",
    "validate_profile",
    "validate_subscription",
]
