# -*- coding: utf-8 -*-
# salvage.rescue filters: the fleet summary of a play.
# MIT OR Apache-2.0
"""Filters of the salvage.rescue collection: the fleet summary."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: fleet_summary
short_description: One summary line per host of the play (hosts that gave none are named)
description:
  - Given the play's host names and C(hostvars), returns each host's C(salvage_summary_line)
    (set by the salvage.rescue.salvage role), or a line saying the host gave no result.
options:
  _input:
    description: Host names.
    type: list
    elements: str
    required: true
  hostvars:
    description: The play's C(hostvars).
    type: dict
    required: true
"""


def _size(n):
    n = int(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0
    return str(n)


def _files(n):
    n = int(n or 0)
    return "1 file" if n == 1 else "%d files" % n


def fleet_summary(hosts, hostvars):
    """Each host's summary line, in the play's host order."""
    out = []
    for h in hosts:
        line = None
        try:
            line = hostvars[h].get("salvage_summary_line")
        except (KeyError, AttributeError):
            line = None
        if not line:
            line = {
                "host": h,
                "outcome": "no result (unreachable or failed before the run)",
                "bytes_rescued": 0,
                "bytes_unreadable": 0,
                "files_damaged": 0,
                "files_unreadable": 0,
                "log_verdict": "not fetched",
            }
        out.append(dict(line))
    return out


def fleet_lines(summary):
    """The summary for people: one line per host, then the totals."""
    lines = []
    total = 0
    damaged = 0
    for s in summary:
        total += int(s.get("bytes_rescued") or 0)
        damaged += int(s.get("files_damaged") or 0)
        lines.append(
            "%s: %s; %s rescued (%s unreadable); %s damaged, %s unreadable; log %s"
            % (
                s.get("host"),
                s.get("outcome"),
                _size(s.get("bytes_rescued")),
                _size(s.get("bytes_unreadable")),
                _files(s.get("files_damaged")),
                s.get("files_unreadable"),
                s.get("log_verdict"),
            )
        )
    lines.append("fleet: %d hosts, %s rescued, %s damaged" % (len(summary), _size(total), _files(damaged)))
    return lines


class FilterModule(object):
    """salvage.rescue.fleet_summary and salvage.rescue.fleet_lines."""

    def filters(self):
        return {"fleet_summary": fleet_summary, "fleet_lines": fleet_lines}
