//! The JSON writer (`--json`, docs/json.md): one document per command on stdout, with the
//! document's `version` and the `command`, then the command's fields, exactly as the library
//! holds them (no quoting: JSON escapes what it must); errors are documents too.

use super::exit::{ENVIRONMENT, OK, Outcome};
use std::io::Write as _;

/// The version of the JSON documents (docs/json.md): raised when a key changes meaning or
/// goes away, not when one is added.
const JSON_VERSION: u32 = 1;

/// Prints `value` as the JSON document of `command`: `version` and `command`, then its fields.
pub fn print(command: &'static str, value: &impl serde::Serialize) -> Outcome {
    let mut doc = serde_json::Map::new();
    doc.insert("version".into(), JSON_VERSION.into());
    doc.insert("command".into(), command.into());
    match serde_json::to_value(value)? {
        serde_json::Value::Object(fields) => doc.extend(fields),
        other => {
            doc.insert("result".into(), other);
        }
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::to_string_pretty(&doc)?)?;
    stdout.flush()?;
    Ok(OK)
}

/// Prints an error as the JSON document of `command`; whether it could.
pub fn error(command: &'static str, message: &str) -> bool {
    let error = serde_json::json!({
        "error": { "message": message, "exit_code": ENVIRONMENT }
    });
    print(command, &error).is_ok()
}
