"""The audit log: every write through the API and every refused sign-in, who, what, when
and from where, in an append-only, hash-chained table.

:mod:`audit.chain` defines an entry and the hash that binds each row to the one before;
:mod:`audit.store` appends (one chain for every API process), lists and verifies it.
"""
