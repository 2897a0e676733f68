#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A clear one-line message for operators instead of a traceback.
        print(f"ImproperlyConfigured: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
