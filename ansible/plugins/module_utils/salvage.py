# -*- coding: utf-8 -*-
# salvage.rescue: what the modules share: building salvage's command line and reading its log.
# MIT OR Apache-2.0
"""Helpers of the salvage.rescue modules: command lines, the review of a run's log."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

# salvage run's exit codes (engine RunStatus::exit_code and the CLI's own).
OUTCOMES = {
    0: "ok",
    1: "failed",
    2: "invalid",
    3: "waiting",
    4: "error",
    5: "refused",
    6: "partial",
    7: "assert_failed",
    130: "interrupted",
}

# Effects whose steps leave something behind when they run: a run where only steps of the
# other effects ran (read: verify, fsck -n; attach: mounts undone by cleanup; manual) changed
# nothing.
CHANGING_EFFECTS = ("create", "modify")
RAN_STATUSES = ("ok", "partial", "failed", "interrupted")


def param_value(value):
    """A param value as salvage's --param NAME=VALUE wants it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def param_args(params, param_files):
    """--param and --param-file arguments, sorted by name (a stable command line)."""
    args = []
    for name in sorted(params or {}):
        args += ["--param", "%s=%s" % (name, param_value(params[name]))]
    for name in sorted(param_files or {}):
        args += ["--param-file", "%s=%s" % (name, param_files[name])]
    return args


def review(module, binary, log, key=None):
    """`salvage review LOG --verify --format json`: (document, verdict) or (None, error)."""
    cmd = [binary, "review", log, "--verify", "--format", "json"]
    if key:
        cmd += ["--key", key]
    rc, out, err = module.run_command(cmd)
    if rc not in (0, 1, 3):
        return None, "salvage review %s (exit %d): %s" % (log, rc, err.strip())
    try:
        doc = json.loads(out)
    except ValueError as e:
        return None, "salvage review %s printed no JSON: %s" % (log, e)
    return doc, doc.get("verdict")


def last_finished_outputs(log):
    """The runbook outputs of the log's last run_finished event (None when the last run
    did not finish: killed, or still running)."""
    last = None
    try:
        with open(log, "rb") as f:
            for raw in f:
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if event.get("event") == "run_started":
                    last = None
                elif event.get("event") == "run_finished":
                    last = event.get("outputs")
    except (IOError, OSError):
        return None
    return last


def step_rows(run):
    """name, op, effect, status, duration (seconds) and why of each step of one run."""
    rows = []
    for s in run.get("steps") or []:
        ms = s.get("duration_ms")
        rows.append(
            {
                "name": s.get("name"),
                "op": s.get("op"),
                "effect": s.get("effect"),
                "status": s.get("status"),
                "duration": None if ms is None else ms / 1000.0,
                "duration_ms": ms,
                "skip_reason": s.get("skip_reason"),
                "error": s.get("error"),
            }
        )
    return rows


def changed_by(run):
    """Whether a run changed anything: a step that creates or modifies ran."""
    for s in run.get("steps") or []:
        if s.get("status") in RAN_STATUSES and s.get("effect") in CHANGING_EFFECTS:
            return True
    return False


def totals(doc):
    """Bytes rescued, bytes unreadable, files damaged and unreadable, and the manifests, from
    the newest outputs of every step over all runs of the log (a step skipped as done keeps
    the outputs of the run that did it)."""
    latest = {}
    for run in doc.get("runs") or []:
        for s in run.get("steps") or []:
            if s.get("outputs"):
                latest[s.get("name")] = (s.get("op"), s.get("outputs"))
    t = {
        "bytes_rescued": 0,
        "bytes_unreadable": 0,
        "files_copied": 0,
        "files_damaged": 0,
        "files_unreadable": 0,
        "manifests": {},
    }
    damage_ops = 0
    copy_marked = False
    for name in sorted(latest):
        op, out = latest[name]
        if op == "image":
            t["bytes_rescued"] += int(out.get("rescued_bytes") or 0)
            t["bytes_unreadable"] += int(out.get("bad_bytes") or 0)
        elif op == "copy":
            t["files_copied"] += int(out.get("files") or 0)
            t["files_unreadable"] += int(out.get("unreadable") or 0)
            if "damaged" in out:
                copy_marked = True
                t["files_damaged"] += int(out.get("damaged") or 0)
            if out.get("manifest"):
                t["manifests"][name] = out["manifest"]
        elif op == "damage":
            damage_ops += int(out.get("damaged") or 0)
    if not copy_marked:
        # No copy was given the damage report: the damage op's own count of files hit.
        t["files_damaged"] = damage_ops
    return t


def file_sha256(path):
    """The sha256 of a file, or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (IOError, OSError):
        return None
    return h.hexdigest()


def state_paths(state, log):
    """The log, its anchor and the state key of a state directory."""
    log = log or os.path.join(state, "log.jsonl")
    return {
        "log": log,
        "anchor": log + ".head",
        "key": os.path.join(state, "key"),
    }
