"""Convert an Altcraft request between JSON and XML, validating it for its operation.

    python manage.py altcraft_payload convert --operation profiles/import --to xml FILE

FILE may be "-" for standard input; its format is detected. Problems go to standard error,
one "path: message" per line, and the command exits with status 1.
"""

import sys
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from altcraft.codec import (
    FORMATS,
    PayloadError,
    decode,
    detect_format,
    encode_json,
    encode_xml,
)
from altcraft.fields import CUSTOM_FIELD_TYPES
from altcraft.operations import OPERATIONS, UnknownOperation, get_operation
from altcraft.validation import body_size_problem, validate


def _field_type(text: str) -> tuple[str, str]:
    name, sep, kind = text.partition(":")
    if not sep or not name or kind not in CUSTOM_FIELD_TYPES:
        raise ValueError(text)
    return name, kind


class Command(BaseCommand):
    help = "Convert an Altcraft request between JSON and XML after validating it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        convert = actions.add_parser(
            "convert",
            help="read a request in JSON or XML, validate it, print it in the asked format",
        )
        convert.add_argument(
            "--operation", required=True, help=f"Altcraft method: {', '.join(OPERATIONS)}"
        )
        convert.add_argument("--to", required=True, choices=FORMATS, dest="to_format")
        convert.add_argument(
            "--field",
            action="append",
            default=[],
            type=_field_type,
            metavar="NAME:TYPE",
            help=f"type of a custom field ({', '.join(CUSTOM_FIELD_TYPES)}); repeatable",
        )
        convert.add_argument("--pretty", action="store_true", help="indent JSON output for reading")
        convert.add_argument("file", help='the request body, or "-" for standard input')

    def handle(self, *args: object, **options: object) -> None:
        try:
            operation = get_operation(str(options["operation"])).path
        except UnknownOperation:
            known = ", ".join(OPERATIONS)
            raise CommandError(
                f"unknown operation {options['operation']}; one of {known}"
            ) from None
        body = self._read(str(options["file"]))
        if too_large := body_size_problem(len(body)):
            raise CommandError(f"not a valid {operation} request: {too_large}", returncode=1)
        field_types = dict(options["field"]) or None  # type: ignore[call-overload]
        try:
            fmt = detect_format(body)
            payload = decode(body, fmt, operation=operation, custom_field_types=field_types)
        except PayloadError as exc:
            raise CommandError(str(exc), returncode=1) from None
        problems = validate(operation, payload, custom_field_types=field_types)
        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            raise CommandError(f"{count}: not a valid {operation} request", returncode=1)
        if options["to_format"] == "json":
            output = encode_json(payload, pretty=bool(options["pretty"]))
        else:
            if options["pretty"]:
                raise CommandError("--pretty only applies to JSON output", returncode=1)
            output = encode_xml(payload)
        self.stdout.write(output.decode("utf-8"))

    def _read(self, name: str) -> bytes:
        if name == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(name).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror}", returncode=1) from None
