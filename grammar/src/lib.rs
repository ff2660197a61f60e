//! The salvage runbook grammar and its AST with byte spans.
