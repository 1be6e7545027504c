//! Query engine: parse a query, match and rank incidents, sort. Pure; no terminal here.
//!
//! The index prepares a dataset once; the matcher tests one incident; `search` runs a query over
//! a corpus on every core; the worker runs searches off the input thread for the browser.

mod index;
mod matcher;
mod parse;
mod search;
mod worker;

pub use index::{Corpus, Index};
pub use matcher::Matcher;
pub use parse::{CiaPart, FILTERS, Field, Query, QueryError, Term, TermKind, looks_like_technique_id, quote_value};
pub use search::{Hit, PAGE, SearchRequest, SearchUpdate, SortKey, search};
pub use worker::Worker;
