//! The TypeScript declarations of what crosses the wasm boundary, generated from the Rust types.
//!
//! Every value the bindings hand to JavaScript as JSON (views, effects, issues) and every JSON
//! value they take from it (forms, local guidance changes, the areas of an editor's lists) is
//! declared in `web/js/types/wasm-types.d.ts`, written from these types and their serde
//! attributes. `web/js/wasm.js` names its results by those declarations, so `tsc --checkJs`
//! holds every caller to what Rust serialises. The declarations come from a derive that only
//! the tests compile: the wasm the app ships does not change.
//!
//! The test fails when the checked-in file differs from what the types generate;
//! `cargo xtask gen-types` writes it anew.

use std::path::PathBuf;

use ts_rs::{Config, TS};

use crate::edit::{ContactEdit, NameEdit, NewContact, ScheduleEdit};
use crate::history::{ChangeView, ConflictView, Discarded, EntryView, FieldLabel};
use crate::issues::FieldIssue;
use crate::local::{LocalOp, LocalView};
use crate::messages::Explained;
use crate::session::Effect;
use crate::views::{
    AnswerView, Areas, CardView, ContactForm, ContactView, DocumentItem, Group, HitView, MunicipalityView, NodeView,
    OrganisationItem, PhoneView, RetiredItem, ReviewItem, RoleView, ScheduleForm, StepView, Text, Topic, Unreadable,
};
use contactpoint_directory::FieldPath;
use contactpoint_directory::history::FieldValue;

/// The environment variable that makes the test write the file instead of comparing it.
const WRITE: &str = "CONTACTPOINT_WRITE_TYPES";

/// Where the declarations are checked in.
fn checked_in() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/js/types/wasm-types.d.ts")
}

/// One declaration: its name, its text, and the names it refers to.
struct Decl {
    name: String,
    text: String,
    refers_to: Vec<String>,
}

fn decl<T: TS + 'static + ?Sized>(cfg: &Config) -> Decl {
    let docs = T::docs().map(|d| format!("{}\n", d.trim_end())).unwrap_or_default();
    Decl {
        name: T::ident(cfg),
        text: format!("{docs}export {}\n", T::decl(cfg)),
        refers_to: T::dependencies(cfg).into_iter().map(|d| d.ts_name).collect(),
    }
}

/// Every declaration, in a fixed order.
fn declarations() -> Vec<Decl> {
    // Numbers cross as JSON numbers: no count or time here comes near 2^53.
    let cfg = Config::new().with_large_int("number");
    vec![
        // Shared.
        decl::<FieldPath>(&cfg),
        decl::<Text>(&cfg),
        decl::<FieldIssue>(&cfg),
        decl::<FieldLabel>(&cfg),
        decl::<FieldValue>(&cfg),
        // Syncing.
        decl::<Effect>(&cfg),
        decl::<Explained>(&cfg),
        decl::<Discarded>(&cfg),
        // Views.
        decl::<Topic>(&cfg),
        decl::<CardView>(&cfg),
        decl::<NodeView>(&cfg),
        decl::<AnswerView>(&cfg),
        decl::<StepView>(&cfg),
        decl::<ContactView>(&cfg),
        decl::<PhoneView>(&cfg),
        decl::<ContactForm>(&cfg),
        decl::<ScheduleForm>(&cfg),
        decl::<HitView>(&cfg),
        decl::<Group>(&cfg),
        decl::<MunicipalityView>(&cfg),
        decl::<RoleView>(&cfg),
        decl::<DocumentItem>(&cfg),
        decl::<Unreadable>(&cfg),
        decl::<OrganisationItem>(&cfg),
        // Editors' views.
        decl::<Areas>(&cfg),
        decl::<ReviewItem>(&cfg),
        decl::<RetiredItem>(&cfg),
        decl::<EntryView>(&cfg),
        decl::<ChangeView>(&cfg),
        decl::<ConflictView>(&cfg),
        decl::<LocalView>(&cfg),
        decl::<crate::local::NodeView>(&cfg),
        decl::<crate::local::StepView>(&cfg),
        // What the forms send.
        decl::<ContactEdit>(&cfg),
        decl::<ScheduleEdit>(&cfg),
        decl::<NameEdit>(&cfg),
        decl::<NewContact>(&cfg),
        decl::<LocalOp>(&cfg),
    ]
}

/// The file's text.
fn generate() -> String {
    let mut out = String::from(
        "// Generated from the Rust types of client-wasm (src/types.rs) by `cargo xtask gen-types`;\n\
         // do not edit. The wasm client's JSON has exactly these shapes.\n",
    );
    for d in declarations() {
        out.push('\n');
        for line in d.text.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

#[test]
fn every_declared_name_is_declared_once_with_what_it_refers_to() {
    let all = declarations();
    let names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
    for (i, n) in names.iter().enumerate() {
        assert!(!names[..i].contains(n), "{n} is declared twice: rename one (`ts(rename = ..)`)");
    }
    for d in &all {
        for r in &d.refers_to {
            assert!(names.contains(&r.as_str()), "{} refers to {r}, which is not declared: add it to the list", d.name);
        }
    }
}

#[test]
fn the_checked_in_declarations_are_those_the_types_generate() {
    let generated = generate();
    let path = checked_in();
    if std::env::var_os(WRITE).is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("the directory is writable");
        std::fs::write(&path, &generated).expect("the file is writable");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "{} is not what the Rust types generate: run `cargo xtask gen-types` and check the JavaScript \
         (`cargo xtask check-js`)",
        path.display()
    );
}
