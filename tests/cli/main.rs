//! End-to-end tests: the real `ouistat` binary in a temporary directory.
//! Outputs are read back with the `parquet` crate, not with the DuckDB
//! that wrote them.
//!
//! One test binary, split by area; `common` holds the builder ([`Run`])
//! and the readers every area uses.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

mod broken_runs;
mod common;
mod cycle;
mod deliveries;
mod exporters;
mod faults;
mod indicators;
mod parquet_extracts;
mod registre;
mod report;

use common::*;
use deliveries::*;
use faults::*;
use report::*;
