//! The pest parser and the conversion of its pairs into the AST.

use crate::ast::*;
use crate::parse_error::{ParseError, ParseErrorKind};
use pest::Parser as _;
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "runbook.pest"]
struct RunbookParser;

/// How deep brackets, braces and parentheses may nest before the parser refuses the file.
pub const MAX_NESTING: usize = 64;

/// Parses a whole source into an AST. Never panics, whatever the input.
pub fn parse(source: &str) -> Result<File, ParseError> {
    let nesting = prescan(source)?;
    let file = match RunbookParser::parse(Rule::file, source) {
        Ok(mut pairs) => match pairs.next() {
            Some(pair) => pair,
            None => {
                return Err(ParseError {
                    span: Span::new(0, 0),
                    kind: ParseErrorKind::Expected {
                        expected: vec!["`runbook`".into()],
                        found: "nothing".into(),
                    },
                });
            }
        },
        Err(err) => {
            if let Some((open, at)) = nesting {
                return Err(ParseError {
                    span: Span::new(at, at + open.len_utf8()),
                    kind: ParseErrorKind::Unclosed { open },
                });
            }
            return Err(detailed_error(source, err));
        }
    };
    build_file(file)
}

/// Scans brackets outside strings and comments: refuses nesting deeper than [`MAX_NESTING`]
/// (so the recursive parser cannot overflow its stack) and remembers the first bracket left
/// unclosed, which makes a better message than the parser's when the parse fails.
fn prescan(source: &str) -> Result<Option<(char, usize)>, ParseError> {
    let bytes = source.as_bytes();
    let mut stack: Vec<(char, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    // A string never closed swallows the rest of the file: say where it began.
                    return Ok(Some(('"', start)));
                }
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            open @ (b'[' | b'(' | b'{') => {
                stack.push((open as char, i));
                if stack.len() > MAX_NESTING {
                    return Err(ParseError {
                        span: Span::new(i, i + 1),
                        kind: ParseErrorKind::TooDeep { limit: MAX_NESTING },
                    });
                }
            }
            close @ (b']' | b')' | b'}') => {
                let want = match close {
                    b']' => '[',
                    b')' => '(',
                    _ => '{',
                };
                if stack.last().is_some_and(|(open, _)| *open == want) {
                    stack.pop();
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(stack.last().copied())
}

/// Re-parses with pest's detailed error tracking on, to name the literal tokens it expected.
/// More syntax errors of a file whose parse failed at byte `first`: each later line that
/// starts a statement (`step`, `param`, `manual`, `output`, `about`, `use`) is parsed as one
/// statement on its own, and the ones that fail are reported (at most `limit`). Statements that
/// parse are skipped whole, so a statement over several lines is read once.
pub fn more_syntax_errors(source: &str, first: usize, limit: usize) -> Vec<ParseError> {
    const STARTS: [&str; 8] = [
        "step", "param", "manual", "output", "about", "use", "assert", "for",
    ];
    let mut out = Vec::new();
    if prescan(source).is_err() {
        return out;
    }
    // Resume at the line after the first error.
    let mut at = source[first.min(source.len())..]
        .find('\n')
        .map_or(source.len(), |i| first + i + 1);
    while at < source.len() && out.len() < limit {
        let line_end = source[at..].find('\n').map_or(source.len(), |i| at + i + 1);
        let line = &source[at..line_end];
        let indent = line.len() - line.trim_start().len();
        let start = at + indent;
        let word: String = source[start..line_end]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if !STARTS.contains(&word.as_str()) {
            at = line_end;
            continue;
        }
        let text = &source[start..];
        match RunbookParser::parse(Rule::probe, text) {
            Ok(pairs) => {
                let end = pairs.last().map_or(0, |p| p.as_span().end());
                at = (start + end).max(line_end);
            }
            Err(err) => {
                let mut e = detailed_error_of(Rule::probe, text, err);
                e.span = Span::new(e.span.start + start, e.span.end + start);
                let next = source[e.span.start.min(source.len())..]
                    .find('\n')
                    .map_or(source.len(), |i| e.span.start + i + 1);
                out.push(e);
                at = next.max(line_end);
            }
        }
    }
    out
}

fn detailed_error(source: &str, err: pest::error::Error<Rule>) -> ParseError {
    detailed_error_of(Rule::file, source, err)
}

fn detailed_error_of(rule: Rule, source: &str, err: pest::error::Error<Rule>) -> ParseError {
    pest::set_error_detail(true);
    let detailed = RunbookParser::parse(rule, source).err();
    pest::set_error_detail(false);
    let err = detailed.unwrap_or(err);
    let mut pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let mut expected: Vec<String> = Vec::new();
    match err.parse_attempts() {
        Some(attempts) if attempts.max_position >= pos => {
            pos = attempts.max_position;
            for token in attempts.expected_tokens() {
                if let Some(text) = describe_token(&token.to_string()) {
                    expected.push(text);
                }
            }
            let from_tokens = !expected.is_empty();
            for stack in &attempts.call_stacks {
                let Some(rule) = stack.deepest.get_rule() else {
                    continue;
                };
                // Inside a statement that failed part-way, "expected `param`" (the statement
                // itself) only confuses: the tokens already say what was wanted there.
                let statement = matches!(
                    rule,
                    Rule::param
                        | Rule::step
                        | Rule::manual
                        | Rule::output
                        | Rule::about
                        | Rule::assert_stmt
                        | Rule::for_loop
                );
                if statement && from_tokens {
                    continue;
                }
                if let Some(text) = describe_rule(*rule) {
                    expected.push(text.to_string());
                }
            }
        }
        _ => {
            if let pest::error::ErrorVariant::ParsingError { positives, .. } = &err.variant {
                for rule in positives {
                    if let Some(text) = describe_rule(*rule) {
                        expected.push(text.to_string());
                    }
                }
            }
        }
    }
    expected.sort();
    expected.dedup();
    let (found, len) = describe_found(source, pos);
    ParseError {
        span: Span::new(pos, pos + len),
        kind: ParseErrorKind::Expected { expected, found },
    }
}

fn describe_token(token: &str) -> Option<String> {
    match token {
        "#" | "//" | "///" | " " | "\t" | "\r" | "\n" | "\u{FEFF}" | "\\" | "${" | "-" | "_" => {
            None
        }
        "BUILTIN_RULE" => None,
        // An operator could always come next after a value: naming them only hides what
        // was missing (a `,` or a `)`).
        "==" | "!=" | "<" | "<=" | ">" | ">=" | "and" | "or" | "not" => None,
        "\"" => Some("a string".into()),
        "0..9" => Some("a number".into()),
        t if t.contains("..") => None,
        t if t.len() <= 3 && t.chars().all(|c| c.is_ascii_alphabetic()) => None,
        t => Some(format!("`{t}`")),
    }
}

fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::use_decl => "`use`",
        Rule::runbook => "`runbook`",
        Rule::define => "`define`",
        Rule::about => "`about`",
        Rule::param => "`param`",
        Rule::step => "`step`",
        Rule::manual => "`manual`",
        Rule::output => "`output`",
        Rule::assert_stmt | Rule::assert_kw => "`assert`",
        Rule::for_loop | Rule::for_kw => "`for`",
        Rule::in_kw => "`in`",
        Rule::ident => "a name",
        Rule::expr | Rule::comparison | Rule::negation | Rule::conjunct | Rule::call => "a value",
        Rule::type_name => {
            "a type (string, path, device, size, int, bool, secret, duration, list<string>)"
        }
        Rule::string => "a string",
        Rule::arg => "an argument `name: value`",
        Rule::list
        | Rule::number
        | Rule::size
        | Rule::duration
        | Rule::boolean
        | Rule::reference => "a value",
        Rule::field => "`.field`",
        Rule::index => "`[index]`",
        _ => return None,
    })
}

/// Describes the input at `pos` for "found ...", and how many bytes to underline.
fn describe_found(source: &str, pos: usize) -> (String, usize) {
    let rest = source.get(pos..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return ("end of file".into(), 0);
    };
    if first.is_ascii_alphanumeric() || first == '_' {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        let len = word.len();
        return (format!("`{word}`"), len);
    }
    match first {
        '\n' => ("end of line".into(), 1),
        c if c.is_control() || c == '\u{FFFD}' => {
            (format!("`{}`", c.escape_unicode()), c.len_utf8())
        }
        c => (format!("`{c}`"), c.len_utf8()),
    }
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

fn build_file(pair: Pair<'_, Rule>) -> Result<File, ParseError> {
    let mut file = File {
        uses: Vec::new(),
        blocks: Vec::new(),
    };
    for item in pair.into_inner() {
        match item.as_rule() {
            Rule::use_decl => {
                let span = span_of(&item);
                let mut inner = item.into_inner();
                let path = build_string(next(&mut inner)?)?;
                file.uses.push(Use { path, span });
            }
            Rule::runbook | Rule::define => file.blocks.push(build_block(item)?),
            _ => {}
        }
    }
    Ok(file)
}

fn next<'i>(inner: &mut pest::iterators::Pairs<'i, Rule>) -> Result<Pair<'i, Rule>, ParseError> {
    inner.next().ok_or(ParseError {
        span: Span::new(0, 0),
        kind: ParseErrorKind::Expected {
            expected: vec![],
            found: "an internal parser gap".into(),
        },
    })
}

fn build_block(pair: Pair<'_, Rule>) -> Result<Block, ParseError> {
    let kind = if pair.as_rule() == Rule::runbook {
        BlockKind::Runbook
    } else {
        BlockKind::Define
    };
    let span = span_of(&pair);
    let mut docs = Vec::new();
    let mut name = None;
    let mut body = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc => docs.push(doc_text(part)),
            Rule::string if name.is_none() => {
                let lit = build_string(part)?;
                let text = lit.as_plain().unwrap_or_default();
                name = Some(Ident {
                    name: text,
                    span: lit.span,
                });
            }
            Rule::ident if name.is_none() => name = Some(ident(part)),
            Rule::about => body.push(Stmt::About(build_string(next(&mut part.into_inner())?)?)),
            Rule::param => body.push(Stmt::Param(build_param(part)?)),
            Rule::step => body.push(Stmt::Step(build_step(part)?)),
            Rule::manual => body.push(Stmt::Manual(build_manual(part)?)),
            Rule::output => body.push(Stmt::Output(build_output(part)?)),
            Rule::assert_stmt => body.push(Stmt::Assert(build_assert(part)?)),
            Rule::for_loop => body.push(Stmt::For(build_for(part)?)),
            _ => {}
        }
    }
    let name = name.unwrap_or(Ident {
        name: String::new(),
        span,
    });
    Ok(Block {
        kind,
        name,
        docs,
        body,
        span,
    })
}

fn doc_text(pair: Pair<'_, Rule>) -> String {
    let text = pair.as_str().strip_prefix("///").unwrap_or(pair.as_str());
    text.strip_prefix(' ')
        .unwrap_or(text)
        .trim_end()
        .to_string()
}

fn ident(pair: Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(&pair),
    }
}

fn build_param(pair: Pair<'_, Rule>) -> Result<Param, ParseError> {
    let span = span_of(&pair);
    let mut docs = Vec::new();
    let mut idents = Vec::new();
    let mut default = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc => docs.push(doc_text(part)),
            Rule::ident | Rule::type_name => idents.push(ident(part)),
            _ => default = Some(build_value(part)?),
        }
    }
    let mut idents = idents.into_iter();
    let name = idents.next().unwrap_or(Ident {
        name: String::new(),
        span,
    });
    let ty = idents.next().unwrap_or(Ident {
        name: String::new(),
        span,
    });
    Ok(Param {
        docs,
        name,
        ty,
        default,
        span,
    })
}

fn build_step(pair: Pair<'_, Rule>) -> Result<Step, ParseError> {
    let span = span_of(&pair);
    let mut docs = Vec::new();
    let mut idents = Vec::new();
    let mut args = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc => docs.push(doc_text(part)),
            Rule::ident => idents.push(ident(part)),
            Rule::arg => {
                let mut inner = part.into_inner();
                let name = ident(next(&mut inner)?);
                let value = build_value(next(&mut inner)?)?;
                args.push(Arg { name, value });
            }
            _ => {}
        }
    }
    let mut idents = idents.into_iter();
    let name = idents.next().unwrap_or(Ident {
        name: String::new(),
        span,
    });
    let op = idents.next().unwrap_or(Ident {
        name: String::new(),
        span,
    });
    Ok(Step {
        docs,
        name,
        op,
        args,
        span,
    })
}

fn build_manual(pair: Pair<'_, Rule>) -> Result<Manual, ParseError> {
    let span = span_of(&pair);
    let mut docs = Vec::new();
    let mut name = None;
    let mut text = None;
    let mut after = None;
    let mut when = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc => docs.push(doc_text(part)),
            Rule::ident => name = Some(ident(part)),
            Rule::string => text = Some(build_string(part)?),
            Rule::list => after = Some(build_value(part)?),
            Rule::expr => when = Some(build_value(part)?),
            _ => {}
        }
    }
    Ok(Manual {
        docs,
        name: name.unwrap_or(Ident {
            name: String::new(),
            span,
        }),
        text: text.unwrap_or(StringLit {
            parts: vec![],
            span,
        }),
        after,
        when,
        span,
    })
}

fn build_output(pair: Pair<'_, Rule>) -> Result<Output, ParseError> {
    let span = span_of(&pair);
    let mut docs = Vec::new();
    let mut name = None;
    let mut value = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc => docs.push(doc_text(part)),
            Rule::ident if name.is_none() => name = Some(ident(part)),
            _ => value = Some(build_value(part)?),
        }
    }
    Ok(Output {
        docs,
        name: name.unwrap_or(Ident {
            name: String::new(),
            span,
        }),
        value: value.unwrap_or(Value {
            kind: ValueKind::List(vec![]),
            span,
        }),
        span,
    })
}

/// `assert EXPR ["message"]`.
fn build_assert(pair: Pair<'_, Rule>) -> Result<Assert, ParseError> {
    let span = span_of(&pair);
    let mut keyword = Span::new(span.start, span.start);
    let mut docs = Vec::new();
    let mut cond = None;
    let mut message = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc => docs.push(doc_text(part)),
            Rule::string => message = Some(build_string(part)?),
            Rule::assert_kw => keyword = span_of(&part),
            _ => cond = Some(build_value(part)?),
        }
    }
    Ok(Assert {
        docs,
        cond: cond.unwrap_or(Value {
            kind: ValueKind::Bool(true),
            span,
        }),
        message,
        keyword,
        span,
    })
}

/// `for NAME in LIST { ... }`.
fn build_for(pair: Pair<'_, Rule>) -> Result<ForLoop, ParseError> {
    let span = span_of(&pair);
    let mut docs = Vec::new();
    let mut var = None;
    let mut list = None;
    let mut body = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc => docs.push(doc_text(part)),
            Rule::ident if var.is_none() => var = Some(ident(part)),
            Rule::expr if list.is_none() => list = Some(build_value(part)?),
            Rule::step => body.push(Stmt::Step(build_step(part)?)),
            Rule::manual => body.push(Stmt::Manual(build_manual(part)?)),
            Rule::assert_stmt => body.push(Stmt::Assert(build_assert(part)?)),
            Rule::for_loop => body.push(Stmt::For(build_for(part)?)),
            _ => {}
        }
    }
    Ok(ForLoop {
        docs,
        var: var.unwrap_or(Ident {
            name: String::new(),
            span,
        }),
        list: list.unwrap_or(Value {
            kind: ValueKind::List(vec![]),
            span,
        }),
        body,
        span,
    })
}

/// An expression: `a or b`, `a and b`, `not a`, `a == b`, `f(x)`, `(e)`, or one value.
fn build_expr(pair: Pair<'_, Rule>) -> Result<Value, ParseError> {
    let span = span_of(&pair);
    let rule = pair.as_rule();
    let mut items: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
    match rule {
        Rule::expr | Rule::conjunct | Rule::comparison => {
            if items.is_empty() {
                return Ok(Value {
                    kind: ValueKind::List(vec![]),
                    span,
                });
            }
            let first = items.remove(0);
            let mut acc = build_value(first)?;
            let mut rest = items.into_iter();
            while let Some(op) = rest.next() {
                let Some(right) = rest.next() else { break };
                let right = build_value(right)?;
                let op = BinOp::from_symbol(op.as_str()).unwrap_or(BinOp::Eq);
                let joined = Span::new(acc.span.start, right.span.end);
                acc = Value {
                    kind: ValueKind::Binary {
                        op,
                        left: Box::new(acc),
                        right: Box::new(right),
                    },
                    span: joined,
                };
            }
            Ok(acc)
        }
        Rule::negation => {
            let Some(last) = items.pop() else {
                return Ok(Value {
                    kind: ValueKind::List(vec![]),
                    span,
                });
            };
            let mut acc = build_value(last)?;
            for not in items.iter().rev() {
                let at = span_of(not).start;
                acc = Value {
                    kind: ValueKind::Not(Box::new(acc)),
                    span: Span::new(at, span.end),
                };
            }
            Ok(acc)
        }
        _ => {
            // Rule::call
            let mut inner = items.into_iter();
            let Some(first) = inner.next() else {
                return Ok(Value {
                    kind: ValueKind::List(vec![]),
                    span,
                });
            };
            let name = ident(first);
            let args = inner.map(build_value).collect::<Result<_, _>>()?;
            Ok(Value {
                kind: ValueKind::Call { name, args },
                span,
            })
        }
    }
}

fn build_value(pair: Pair<'_, Rule>) -> Result<Value, ParseError> {
    let span = span_of(&pair);
    if matches!(
        pair.as_rule(),
        Rule::expr | Rule::conjunct | Rule::negation | Rule::comparison | Rule::call
    ) {
        return build_expr(pair);
    }
    let kind = match pair.as_rule() {
        Rule::string => ValueKind::Str(build_string(pair)?),
        Rule::list => ValueKind::List(
            pair.into_inner()
                .map(build_value)
                .collect::<Result<_, _>>()?,
        ),
        Rule::boolean => ValueKind::Bool(pair.as_str() == "true"),
        Rule::number => {
            let text: String = pair.as_str().chars().filter(|c| *c != '_').collect();
            ValueKind::Int(text.parse().map_err(|_| ParseError {
                span,
                kind: ParseErrorKind::NumberTooLarge,
            })?)
        }
        Rule::size => ValueKind::Size(parse_size(pair.as_str()).ok_or(ParseError {
            span,
            kind: ParseErrorKind::SizeTooLarge,
        })?),
        Rule::duration => ValueKind::Duration(parse_duration(pair.as_str()).ok_or(ParseError {
            span,
            kind: ParseErrorKind::NumberTooLarge,
        })?),
        Rule::reference => ValueKind::Ref(build_reference(pair)),
        _ => ValueKind::List(vec![]),
    };
    Ok(Value { kind, span })
}

fn split_number(text: &str) -> (Option<u64>, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(text.len());
    let digits: String = text[..end].chars().filter(|c| *c != '_').collect();
    (digits.parse().ok(), &text[end..])
}

/// Parses `4KiB`, `4K` (binary), `4KB` (decimal), `512B` into bytes; None on overflow.
pub fn parse_size(text: &str) -> Option<u64> {
    let (n, unit) = split_number(text);
    let unit = unit.to_ascii_lowercase();
    let exp = match unit.chars().next() {
        None | Some('b') => 0,
        Some('k') => 1,
        Some('m') => 2,
        Some('g') => 3,
        Some('t') => 4,
        Some('p') => 5,
        Some(_) => return None,
    };
    let decimal = unit.len() == 2 && unit.ends_with('b');
    let base: u64 = if decimal { 1000 } else { 1024 };
    n?.checked_mul(base.checked_pow(exp)?)
}

/// Parses `100ms`, `30s`, `5min`, `2h` into milliseconds; None on overflow.
pub fn parse_duration(text: &str) -> Option<u64> {
    let (n, unit) = split_number(text);
    let factor = match unit {
        "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n?.checked_mul(factor)
}

fn build_reference(pair: Pair<'_, Rule>) -> Reference {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let root = inner.next().map(ident).unwrap_or(Ident {
        name: String::new(),
        span,
    });
    let mut path = Vec::new();
    for part in inner {
        match part.as_rule() {
            Rule::field => {
                if let Some(id) = part.into_inner().next() {
                    path.push(Accessor::Field(ident(id)));
                }
            }
            Rule::index => {
                let s = span_of(&part);
                match part.into_inner().next() {
                    Some(inner) if inner.as_rule() == Rule::ident => {
                        path.push(Accessor::IndexParam(ident(inner)));
                    }
                    Some(inner) => {
                        let n = inner.as_str().parse().unwrap_or(u64::MAX);
                        path.push(Accessor::Index(n, s));
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }
    Reference { root, path, span }
}

fn build_string(pair: Pair<'_, Rule>) -> Result<StringLit, ParseError> {
    let span = span_of(&pair);
    let mut parts: Vec<StrPart> = Vec::new();
    let push_text = |parts: &mut Vec<StrPart>, text: &str| {
        if let Some(StrPart::Text(last)) = parts.last_mut() {
            last.push_str(text);
        } else {
            parts.push(StrPart::Text(text.to_string()));
        }
    };
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::text => push_text(&mut parts, part.as_str()),
            Rule::escape => {
                let c = part.as_str().chars().nth(1).unwrap_or('\\');
                let text = match c {
                    'n' => "\n",
                    't' => "\t",
                    '"' => "\"",
                    '\\' => "\\",
                    '$' => "$",
                    other => {
                        return Err(ParseError {
                            span: span_of(&part),
                            kind: ParseErrorKind::UnknownEscape { escape: other },
                        });
                    }
                };
                push_text(&mut parts, text);
            }
            Rule::interpolation => {
                if let Some(r) = part.into_inner().next() {
                    parts.push(StrPart::Interp(build_reference(r)));
                }
            }
            _ => {}
        }
    }
    Ok(StringLit { parts, span })
}
