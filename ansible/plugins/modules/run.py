#!/usr/bin/python
# -*- coding: utf-8 -*-
# salvage.rescue.run: run a salvage runbook on the host; rerunning resumes.
# MIT OR Apache-2.0
"""The salvage.rescue.run module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: run
short_description: Run a salvage recovery runbook; rerunning resumes where it stopped
description:
  - Runs C(salvage run RUNBOOK) on the host with the given params, state directory,
    approvals and C(--yes), then reads the run's hash-chained log with
    C(salvage review LOG --verify --format json) to report every step, the outputs and the
    log's verdict.
  - Rerunning with the same state directory resumes; steps done in an earlier run are
    skipped, and the task reports C(changed=false) when no step that creates or modifies
    anything ran (steps that only read, such as verify, or only attach for the run, such as
    a read-only mount undone by cleanup, do not count as a change).
  - In check mode it runs C(salvage plan --format json) instead, changes nothing, and
    reports the plan; with C(--diff) the plan text is shown as the diff.
  - A run that completes with losses (exit 6) is not a failure; the outcome says C(partial).
    Any other non-zero exit (failed, waiting for approval, refused, interrupted, killed) fails
    the task, with everything read from the log still returned.
version_added: "0.1.0"
author:
  - salvage maintainers
options:
  runbook:
    description: Path of the runbook on the host.
    type: path
    required: true
  params:
    description: Param values, NAME to value (lists and dicts are given as JSON).
    type: dict
    default: {}
  param_files:
    description:
      - Params read from files on the host, NAME to path (one trailing newline dropped);
        the way to give a secret, which C(params) would show in the process list.
    type: dict
    default: {}
  state:
    description:
      - The state directory (journal, lock, key, log). Rerun with the same one to resume.
      - Default C(.salvage/NAME) beside the runbook, NAME being the runbook's name.
    type: path
  log:
    description: The log file. Default C(STATE/log.jsonl).
    type: path
  approve:
    description: Manual steps to approve, by name (logged with the user).
    type: list
    elements: str
    default: []
  "yes":
    description: Let steps that modify existing data run (C(--yes)).
    type: bool
    default: false
  new_params:
    description: Go on in a state directory that was run with other param values.
    type: bool
    default: false
  jobs:
    description: Independent steps run at once, up to this many.
    type: int
  binary:
    description: Path of the salvage binary on the host.
    type: str
    default: salvage
notes:
  - Supports check mode (the plan) and diff mode (the plan's text).
"""

EXAMPLES = r"""
- name: Rescue the failing disk
  salvage.rescue.run:
    runbook: /opt/salvage/runbooks/rescue.salvage
    params:
      disk: /dev/sdb
      work: /srv/rescue
    param_files:
      passphrase: /root/luks.pass
    state: /var/lib/salvage/rescue
    approve: [confirm]
    binary: /opt/salvage/bin/salvage
  register: rescue
"""

RETURN = r"""
outcome:
  description: ok, partial, failed, waiting, refused, interrupted, assert_failed, invalid, error, killed; C(planned) in check mode.
  returned: always
  type: str
exit_code:
  description: salvage run's exit code (negative when salvage was killed by a signal).
  returned: always
  type: int
steps:
  description: Every step of this run, in order, with C(name), C(op), C(effect), C(status), C(duration) (seconds), C(skip_reason), C(error).
  returned: when a log was written
  type: list
  elements: dict
outputs:
  description: The runbook's outputs, as the log's run_finished event records them.
  returned: when the run finished
  type: dict
log:
  description: Path of the run's log on the host.
  returned: always
  type: str
anchor:
  description: Path of the log's keyed anchor (LOG.head).
  returned: always
  type: str
key:
  description: Path of the state key that checks the anchor.
  returned: always
  type: str
state:
  description: The state directory used.
  returned: always
  type: str
log_verdict:
  description: What C(salvage review --verify) said of the log on the host (valid, tampered, unproven, ...).
  returned: when a log was written
  type: str
resumed:
  description: Whether this run resumed an earlier one.
  returned: when a log was written
  type: bool
ran:
  description: Names of the steps that ran (were not skipped) in this run.
  returned: when a log was written
  type: list
  elements: str
totals:
  description: Over the whole log, C(bytes_rescued), C(bytes_unreadable), C(files_copied), C(files_damaged), C(files_unreadable) and C(manifests) (step name to path).
  returned: when a log was written
  type: dict
plan:
  description: The plan (C(salvage plan --format json)), in check mode.
  returned: in check mode
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.salvage.rescue.plugins.module_utils.salvage import (
    OUTCOMES,
    changed_by,
    file_sha256,
    last_finished_outputs,
    param_args,
    review,
    state_paths,
    step_rows,
    totals,
)

import json
import re


def plan(module, p, fmt):
    """salvage plan RUNBOOK --format FMT with the params: (rc, stdout, stderr)."""
    cmd = [p["binary"], "plan", p["runbook"], "--format", fmt]
    cmd += param_args(p["params"], p["param_files"])
    return module.run_command(cmd)


def default_state(module, p):
    """.salvage/NAME beside the runbook, NAME the runbook's name as salvage makes it safe."""
    rc, out, err = plan(module, p, "json")
    if rc != 0:
        module.fail_json(msg="salvage plan failed (exit %d): %s" % (rc, err.strip()), exit_code=rc, stderr=err)
    plans = json.loads(out)
    first = plans[0] if isinstance(plans, list) else plans
    name = first.get("name", "runbook")
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return os.path.join(os.path.dirname(os.path.abspath(p["runbook"])), ".salvage", safe)


def would_change(module, p, paths):
    """Check mode's prediction: a rerun changes nothing when the log's last run finished ok
    or partial with this runbook (same sha256) and these params."""
    if not os.path.exists(paths["log"]):
        return True, None
    doc, verdict = review(module, p["binary"], paths["log"])
    if doc is None or not doc.get("runs"):
        return True, None
    last = doc["runs"][-1]
    finished = (last.get("finished") or {}).get("status")
    same_book = last.get("runbook_sha256") == file_sha256(p["runbook"])
    logged = last.get("params") or {}
    same_params = all(str(logged.get(k)) == str(v) or isinstance(v, (bool, list, dict)) for k, v in p["params"].items())
    return not (finished in ("ok", "partial") and same_book and same_params), last


def check_mode(module, p, paths):
    """Plan only: nothing runs, nothing is written."""
    rc, out, err = plan(module, p, "json")
    if rc != 0:
        module.fail_json(msg="salvage plan failed (exit %d): %s" % (rc, err.strip()), exit_code=rc, stderr=err, outcome="invalid", **paths)
    plans = json.loads(out)
    changed, last = would_change(module, p, paths)
    result = dict(
        changed=changed,
        outcome="planned",
        exit_code=rc,
        plan=plans,
        warnings_text=err,
        state=p["state"],
        **paths
    )
    if module._diff:
        trc, text, terr = plan(module, p, "text")
        before = "no earlier run in %s\n" % p["state"]
        if last is not None:
            before = "last run in %s: %s (%s)\n" % (
                p["state"],
                (last.get("finished") or {}).get("status", "did not finish"),
                last.get("started"),
            )
        result["diff"] = dict(
            before_header="%s (state)" % p["state"],
            after_header="salvage plan %s" % p["runbook"],
            before=before,
            after=text if trc == 0 else terr,
        )
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runbook=dict(type="path", required=True),
            params=dict(type="dict", default={}),
            param_files=dict(type="dict", default={}),
            state=dict(type="path"),
            log=dict(type="path"),
            approve=dict(type="list", elements="str", default=[]),
            yes=dict(type="bool", default=False),
            new_params=dict(type="bool", default=False),
            jobs=dict(type="int"),
            binary=dict(type="str", default="salvage"),
        ),
        supports_check_mode=True,
    )
    p = dict(module.params)
    if not os.path.isfile(p["runbook"]):
        module.fail_json(msg="runbook %s: no such file on the host" % p["runbook"])
    if p["state"] is None:
        p["state"] = default_state(module, p)
    paths = state_paths(p["state"], p["log"])
    if module.check_mode:
        check_mode(module, p, paths)

    cmd = [p["binary"], "run", p["runbook"], "--quiet", "--state", p["state"]]
    if p["log"]:
        cmd += ["--log", p["log"]]
    cmd += param_args(p["params"], p["param_files"])
    for step in p["approve"]:
        cmd += ["--approve", step]
    if p["yes"]:
        cmd.append("--yes")
    if p["new_params"]:
        cmd.append("--new-params")
    if p["jobs"] is not None:
        cmd += ["--jobs", str(p["jobs"])]
    rc, out, err = module.run_command(cmd)
    outcome = "killed" if rc < 0 else OUTCOMES.get(rc, "exit %d" % rc)
    result = dict(
        changed=False,
        outcome=outcome,
        exit_code=rc,
        cmd=cmd,
        stdout=out,
        stderr=err,
        state=p["state"],
        steps=[],
        outputs=None,
        **paths
    )
    if os.path.exists(paths["log"]):
        doc, verdict = review(module, p["binary"], paths["log"])
        if doc is None:
            result["log_error"] = verdict
        elif doc.get("runs"):
            last = doc["runs"][-1]
            result["steps"] = step_rows(last)
            result["ran"] = [s["name"] for s in result["steps"] if s["status"] != "skipped"]
            result["resumed"] = bool(last.get("resumed"))
            result["run_number"] = last.get("number")
            result["log_verdict"] = verdict
            result["totals"] = totals(doc)
            result["changed"] = changed_by(last)
            if (last.get("finished") or {}).get("status") is not None:
                result["outputs"] = last_finished_outputs(paths["log"])
    if rc in (0, 6):
        module.exit_json(**result)
    tail = "\n".join(err.strip().splitlines()[-6:])
    if rc < 0:
        msg = "salvage was killed by signal %d; rerun the same task to resume" % -rc
    else:
        msg = "salvage run ended %s (exit %d): %s" % (outcome, rc, tail)
    module.fail_json(msg=msg, **result)


if __name__ == "__main__":
    main()
