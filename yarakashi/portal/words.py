"""What a team reads on its page, in English and Japanese. A verdict is shown by what was
observed (each check's trainee label, lab.toml ``[trainee_checks]``), after which phase, PASS
or FAIL; never a check's own name, its expected value or its reason, which name the cause.

>>> from yarakashi import catalogue, verdict
>>> r = verdict.Report("lab.check", "x", [("your changes", [verdict.Check("/lib", "symlink to usr/lib", "a real directory", False)]),
...     ("reboot (after your changes)", [verdict.Check("ls / runs", "0", "0", True)])])
>>> view = trainee_report(r, catalogue.lab("rsync-dirlinks"), "en")
>>> view["verdict"], [(p["after"], [(c["what"], c["passed"]) for c in p["checks"]]) for p in view["phases"]]
('FAIL', [('As you left the servers', [('Every command on the server starts', False)]), ('After a real reboot', [('ls runs', True)])])
"""

from __future__ import annotations

import re

from yarakashi import model, verdict, workshop

LANGS = workshop.LANGUAGES

#: The page's words: key -> (English, Japanese).
TEXT = {
    "brief": ("Problem statement", "問題文"),
    "clock": ("Time", "残り時間"),
    "not_started": ("Your servers are not ready yet: the facilitator starts them.", "サーバはまだ準備中です。ファシリテーターが開始します。"),
    "servers": ("Your servers", "あなたのサーバ"),
    "ssh_about": ("Put these lines in ~/.ssh/config, then log in with ssh {first} (user isucon, sudo without a password).",
                  "次の行を ~/.ssh/config に書き、ssh {first} でログインしてください（ユーザー isucon、sudo はパスワードなし）。"),
    "key_download": ("Download your team's private key (once), save it as ~/.ssh/{name} with chmod 600",
                     "チームの秘密鍵をダウンロード（1 回のみ）し、~/.ssh/{name} に保存して chmod 600 してください"),
    "key_taken": ("Your team's key was downloaded already: ask a teammate, or the facilitator.",
                  "チームの鍵はすでにダウンロード済みです。チームメイトかファシリテーターに聞いてください。"),
    "hints": ("Hints", "ヒント"),
    "hint_button": ("Next hint", "次のヒント"),
    "no_more_hints": ("No more hints: you have them all.", "ヒントはこれで全部です。"),
    "reset": ("Start again", "最初からやり直す"),
    "reset_confirm": ("Yes: undo every change on my servers", "はい: サーバへの変更をすべて元に戻します"),
    "check": ("Check (real reboot)", "チェック（本物の再起動）"),
    "check_about": ("Your servers as you left them, rebooted for real, then judged from outside.",
                    "あなたが残したままのサーバを本当に再起動し、外から判定します。"),
    "jobs": ("Your requests", "リクエスト"),
    "queued": ("PENDING", "待機中"),
    "running": ("RUNNING", "実行中"),
    "done": ("FINISHED", "完了"),
    "interrupted": ("INTERRUPTED", "中断"),
    "place": ("place {n} in the queue", "待ち順 {n} 番目"),
    "error": ("could not finish; the facilitator has been told", "完了できませんでした。ファシリテーターに通知済みです"),
    "busy": ("Your team already has a request running: wait for it to finish.", "チームのリクエストが実行中です。終わるまでお待ちください。"),
    "too_soon": ("Checks are limited to one every {seconds} s: try again in {left} s.",
                 "チェックは {seconds} 秒に 1 回までです。{left} 秒後にもう一度どうぞ。"),
    "confirm_needed": ("Tick the box to confirm the reset.", "やり直すにはチェックボックスで確認してください。"),
    "pass": ("PASS", "PASS"),
    "fail": ("FAIL", "FAIL"),
    "observed": ("observed", "確認できた"),
    "not_observed": ("not observed", "確認できなかった"),
    "kind_check": ("check", "チェック"),
    "kind_hint": ("hint", "ヒント"),
    "kind_reset": ("reset", "やり直し"),
    "kind_start": ("start", "開始"),
    "kind_destroy": ("removal", "削除"),
    "kind_retest": ("organisers' re-test", "追試"),
}

#: Phases of a check as a trainee reads them: the phase's own name says which step ran before it.
PHASES = {"reboot": ("After a real reboot", "本物の再起動のあと"), "": ("As you left the servers", "あなたが残したままの状態")}

#: Checks every lab's verdict may hold (the steps' and the re-test's own), by name or prefix.
COMMON = {
    "boot finished (systemctl is-system-running)": ("The boot finishes", "起動が最後まで終わる"),
    "new SSH session": ("A new SSH login works", "新しい SSH ログインができる"),
    "back over SSH after the power cycle": ("The server comes back after a power cycle", "電源を入れ直したあと、サーバが戻ってくる"),
    "SSH session": ("A new SSH login works", "新しい SSH ログインができる"),
    "no unit ": ("Every service finished starting", "どのサービスも起動を終えている"),
    "reboot": ("The server comes back after the reboot", "再起動のあと、サーバが戻ってくる"),
}
OTHER = ("Another check of the servers", "サーバのその他の確認")


def spoilers_in(text: str, lab: model.Lab) -> list[str]:
    """The spoiler words of ``lab`` that ``text`` holds, each as a word of its own ('OOM' is
    not in 'room').

    >>> from yarakashi import catalogue
    >>> spoilers_in("the room", catalogue.lab("memory-engine")), spoilers_in("an OOM kill", catalogue.lab("memory-engine"))
    ([], ['OOM'])
    """
    return [w for w in lab.spoilers if re.search(rf"(?<![A-Za-z0-9]){re.escape(w)}(?![A-Za-z0-9])", text, re.I)]


def text(key: str, lang: str, **values: object) -> str:
    """A word of the page in ``lang``.

    >>> text("place", "ja", n=2)
    '待ち順 2 番目'
    """
    return TEXT[key][LANGS.index(lang)].format(**values)


def check_label(lab: model.Lab, name: str, lang: str) -> str:
    """What a trainee reads for the check ``name`` of ``lab``: the lab's own label, a common one,
    else a neutral one (a check's own name can give the cause away)."""
    words = lab.trainee_checks.get(name) or next((w for k, w in COMMON.items() if name == k or name.startswith(k)), OTHER)
    return words[LANGS.index(lang)] if len(words) > LANGS.index(lang) else words[0]


def phase_label(after: str, lang: str) -> str:
    """A phase of a verdict as a trainee reads it."""
    return PHASES["reboot" if "reboot" in after else ""][LANGS.index(lang)]


def trainee_report(report: verdict.Report, lab: model.Lab, lang: str) -> dict[str, object]:
    """A verdict as a team's page shows it: PASS or FAIL, and each phase's checks by what was
    observed (a trainee label and whether it held)."""
    phases = [{"after": phase_label(after, lang), "checks": [{"what": check_label(lab, c.name, lang), "passed": c.passed}
                                                              for c in checks]} for after, checks in report.phases]
    return {"verdict": "PASS" if report.passed else "FAIL", "phases": phases}


#: The brief's sections a team's page shows (the others say how to run the lab from a checkout).
BRIEF_SECTIONS = ("The situation", "Your goal", "Rules", "状況", "ゴール", "ルール")


def page_brief(brief: str) -> list[tuple[str, str]]:
    """The brief's sections for a team's page: (heading, text) of the situation, the goal and
    the rules; the title line, what the checkout holds and its commands are left out.

    >>> page_brief("# B\\n\\nx\\n## The situation\\n\\nOne.\\n## Getting there\\n\\n./run lab.start\\n## Rules\\n\\n- Two.\\n")
    [('The situation', 'One.'), ('Rules', '- Two.')]
    """
    sections: list[tuple[str, str]] = []
    for chunk in brief.split("\n## ")[1:]:
        heading, _, body = chunk.partition("\n")
        if heading.strip() in BRIEF_SECTIONS:
            sections.append((heading.strip(), body.strip()))
    return sections
