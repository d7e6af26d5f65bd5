#!/usr/bin/env bash
# The "fix" that changes nothing: lab.check with it judges the state the steps before the fix
# left (`lab.test --platform` uses it to observe a break that comes before the fix step).
true
