"""OVN's logical-flow language, pure Python, no I/O.

Modules, following the data flow:

* :mod:`.lexer` tokens with offsets (``tokenize``); :mod:`.errors` LexError/ExprError/ActionError.
* :mod:`.values` constants (``IntConst``, ``StrConst``, ``$set``, ``@group``) and ``FieldRef``.
* :mod:`.fields` the symbol table as data (``DEFAULT_SYMTAB``): fields, subfields, overlays,
  predicates, prerequisites, storage segments.
* :mod:`.expr` match AST and ``format_expr``; :mod:`.expr_parser` ``parse_expr`` (with type
  checks); :mod:`.normalize` ``normalize``/``compile_match`` to :class:`.matchset.MatchSet`
  tuples, using :mod:`.bitmatch`.
* :mod:`.actions` the ONE action registry: ``parse_actions``, ``format_actions``.
"""
