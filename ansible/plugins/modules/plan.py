#!/usr/bin/python
# -*- coding: utf-8 -*-
# salvage.rescue.plan: the dry run of a runbook on the host; never changes anything.
# MIT OR Apache-2.0
"""The salvage.rescue.plan module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: plan
short_description: Show what a salvage runbook would do on the host (always check-only)
description:
  - Runs C(salvage plan RUNBOOK --format json) (and the text form) with the params and
    returns the plan; nothing is run, written or attached, in check mode or not.
  - Fails, with salvage's diagnostics, when the runbook does not check.
version_added: "0.1.0"
author:
  - salvage maintainers
options:
  runbook:
    description: Path of the runbook on the host.
    type: path
    required: true
  params:
    description: Param values, NAME to value.
    type: dict
    default: {}
  param_files:
    description: Params read from files on the host, NAME to path.
    type: dict
    default: {}
  probe:
    description: Run the read-only steps that can already run to show real offsets (C(--probe)).
    type: bool
    default: false
  binary:
    description: Path of the salvage binary on the host.
    type: str
    default: salvage
"""

EXAMPLES = r"""
- name: What would the rescue do here?
  salvage.rescue.plan:
    runbook: /opt/salvage/runbooks/rescue.salvage
    params:
      disk: /dev/sdb
  register: rescue_plan
"""

RETURN = r"""
plan:
  description: The plan as C(salvage plan --format json) gives it (steps, effects, commands, cleanup); a list for a file of several definitions.
  returned: success
  type: dict
text:
  description: The plan for people (C(salvage plan --format text)).
  returned: success
  type: str
warnings_text:
  description: What salvage printed as warnings (e.g. a device param naming nothing here).
  returned: success
  type: str
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.salvage.rescue.plugins.module_utils.salvage import param_args


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runbook=dict(type="path", required=True),
            params=dict(type="dict", default={}),
            param_files=dict(type="dict", default={}),
            probe=dict(type="bool", default=False),
            binary=dict(type="str", default="salvage"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    base = [p["binary"], "plan", p["runbook"]] + param_args(p["params"], p["param_files"])
    if p["probe"]:
        base.append("--probe")
    rc, out, err = module.run_command(base + ["--format", "json"])
    if rc != 0:
        module.fail_json(msg="salvage plan failed (exit %d): %s" % (rc, err.strip()), exit_code=rc, stderr=err)
    try:
        plans = json.loads(out)
    except ValueError as e:
        module.fail_json(msg="salvage plan printed no JSON: %s" % e, stdout=out)
    trc, text, terr = module.run_command(base + ["--format", "text"])
    result = dict(changed=False, plan=plans, text=text, warnings_text=err)
    if module._diff:
        result["diff"] = dict(before="", after=text, after_header="salvage plan %s" % p["runbook"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
