//! Tests of the rules module as a whole (unit tests of single files sit beside their code).

mod grammar;
mod limits;
mod matching;
mod properties;
