//! The JSON form of a plan, for scripts and reviewers: the same content as the text form.
//! Serialized straight from the plan ([`PlanJson`] implements `Serialize`), one step at a
//! time, so writing a 100,000-step plan holds no JSON copy of it: memory stays that of the
//! plan. Keys come in sorted order at every level (what a `serde_json::Value` prints).

use crate::plan::{Plan, PlanStep, StepKind};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// A plan as JSON, serialized lazily; `extra` is one more top-level member (the CLI's
/// `this_machine`), placed after `steps` as sorted order wants.
pub struct PlanJson<'a> {
    pub plan: &'a Plan,
    pub extra: Option<(&'static str, Value)>,
}

impl<'a> PlanJson<'a> {
    pub fn new(plan: &'a Plan) -> Self {
        Self { plan, extra: None }
    }
}

/// Renders a plan as a JSON value (tests and snapshots; the CLI streams [`PlanJson`]).
pub fn render(plan: &Plan) -> Value {
    serde_json::to_value(PlanJson::new(plan)).unwrap_or(Value::Null)
}

/// Writes `plans` pretty-printed (one plan as an object, several as an array) to `out`.
pub fn write_pretty(plans: &[PlanJson<'_>], out: impl std::io::Write) -> serde_json::Result<()> {
    match plans {
        [one] => serde_json::to_writer_pretty(out, one),
        many => serde_json::to_writer_pretty(out, many),
    }
}

/// Serializes `items` as a sequence without collecting them.
struct Seq<F>(F);

impl<I, F> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.0)())
    }
}

impl Serialize for PlanJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let plan = self.plan;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("about", &plan.about)?;
        m.serialize_entry(
            "cleanup_order",
            &Seq(|| {
                plan.steps.iter().rev().flat_map(|s| {
                    s.cleanup().into_iter().map(move |action| CleanupJson {
                        action,
                        step: &s.id,
                    })
                })
            }),
        )?;
        m.serialize_entry("file", &plan.file)?;
        m.serialize_entry("format", "salvage-plan/1")?;
        m.serialize_entry("kind", if plan.is_define { "define" } else { "runbook" })?;
        m.serialize_entry("name", &plan.name)?;
        let outputs: BTreeMap<&str, Value> = plan
            .outputs
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_json()))
            .collect();
        m.serialize_entry("outputs", &outputs)?;
        m.serialize_entry("params", &Seq(|| plan.params.iter().map(ParamJson)))?;
        m.serialize_entry("steps", &Seq(|| plan.steps.iter().map(StepJson)))?;
        if let Some((key, value)) = &self.extra {
            m.serialize_entry(key, value)?;
        }
        m.end()
    }
}

#[derive(serde::Serialize)]
struct CleanupJson<'a> {
    action: String,
    step: &'a str,
}

struct ParamJson<'a>(&'a crate::plan::PlanParam);

impl Serialize for ParamJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut st = serializer.serialize_struct("param", 5)?;
        st.serialize_field("docs", &p.docs)?;
        st.serialize_field("name", &p.name)?;
        st.serialize_field("source", &p.source)?;
        st.serialize_field("type", &p.ty.to_string())?;
        st.serialize_field("value", &p.value.as_ref().map(|v| v.to_json()))?;
        st.end()
    }
}

struct StepJson<'a>(&'a PlanStep);

impl Serialize for StepJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut st = serializer.serialize_struct("step", 13)?;
        st.serialize_field("after", &s.after)?;
        let args: BTreeMap<&str, Value> = s
            .args
            .iter()
            .map(|a| (a.name.as_str(), a.value.to_json()))
            .collect();
        st.serialize_field("args", &args)?;
        if let StepKind::Manual { text } = &s.kind {
            st.serialize_field("asks", &text.to_json())?;
        }
        if let StepKind::Assert {
            cond,
            message,
            text,
        } = &s.kind
        {
            st.serialize_field(
                "assert",
                &serde_json::json!({
                    "condition": cond.to_json(),
                    "written": text,
                    "message": message.to_json(),
                }),
            )?;
        }
        st.serialize_field("cleanup", &s.cleanup())?;
        st.serialize_field("commands", &s.commands())?;
        let defaulted: Vec<&str> = s
            .args
            .iter()
            .filter(|a| a.defaulted)
            .map(|a| a.name.as_str())
            .collect();
        st.serialize_field("defaulted", &defaulted)?;
        st.serialize_field("deps", &s.deps)?;
        st.serialize_field("docs", &s.docs)?;
        st.serialize_field("effect", &s.effect)?;
        if let StepKind::ForEach { var, list, text } = &s.kind {
            st.serialize_field(
                "for_each",
                &serde_json::json!({ "var": var, "list": list.to_json(), "written": text }),
            )?;
        }
        st.serialize_field("id", &s.id)?;
        st.serialize_field("location", &s.location)?;
        if !s.loops.is_empty() {
            st.serialize_field("loops", &s.loops)?;
        }
        st.serialize_field(
            "needs_confirmation",
            &(s.effect == crate::effect::Effect::Modify),
        )?;
        st.serialize_field("op", s.op_name())?;
        if let Some(w) = &s.when {
            st.serialize_field(
                "when",
                &serde_json::json!({ "condition": w.cond.to_json(), "written": w.text }),
            )?;
        }
        st.end()
    }
}
