"""Shared machinery of ``pyovn nbctl`` and ``pyovn sbctl`` (OVS ctl-tool conventions).

options.py   the command line: global options, ``--``-separated commands
values.py    database values as ctl text, both ways
names.py     table/column abbreviations and record names (per-table id rules)
workdb.py    the working copy a command chain reads and writes, and its transaction
context.py   what a command sees (Ctx) and the description of one tool (Tool)
dbcmds.py    list/find/get/set/add/remove/clear/create/destroy/wait-until/comment
output.py    list/table/csv/json/html rendering, --oneline
runner.py    connect, run the chain as one transaction, retry, --wait, print
nb_switch.py nb_show.py       ovn-nbctl's ls-*/lsp-* commands and show
sb_show.py sb_lflow.py        ovn-sbctl's show, chassis and lflow-list commands
"""
