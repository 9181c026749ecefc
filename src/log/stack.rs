//! Parses JavaScript stack traces into frames, for the three engine families:
//! V8 (Chrome, Node, workerd), SpiderMonkey (Firefox) and JavaScriptCore (Safari).
//!
//! - V8: `    at method (file:line:col)`, `    at file:line:col`, `    at async method (...)`,
//!   `    at new Klass (...)`, `    at eval (eval at f (file:1:2), <anonymous>:3:4)`.
//! - SpiderMonkey: `method@file:line:col`, `@file:line:col`, `method/<@file:line:col`.
//! - JavaScriptCore: `method@file:line:col`, `global code@file:line:col`, `file:line:col`,
//!   and bare `[native code]` frames.
//!
//! Lines that are none of these (the V8 header `Error: message`, blank lines) are skipped.

/// One frame of a parsed stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackFrame {
    /// 0 for the innermost frame.
    pub level: u32,
    /// The function, or `<anonymous>`.
    pub method: String,
    /// The frame's text as the engine printed it (what Application Insights shows as assembly).
    pub assembly: String,
    pub file_name: String,
    pub line: u32,
    pub column: u32,
}

/// At most this many frames are kept; a longer stack is cut (and marked as not full).
pub const MAX_FRAMES: usize = 100;

/// Parses `stack`; the flag says whether every frame was kept.
pub fn parse_stack(stack: &str) -> (Vec<StackFrame>, bool) {
    let mut frames = Vec::new();
    let mut full = true;
    for raw in stack.lines() {
        let line = raw.trim();
        let Some((method, location)) = parse_v8(line).or_else(|| parse_at_sign(line)).or_else(|| parse_bare(line))
        else {
            continue;
        };
        if frames.len() == MAX_FRAMES {
            full = false;
            break;
        }
        let (file_name, line_no, column) = split_location(location);
        frames.push(StackFrame {
            level: frames.len() as u32,
            method: if method.is_empty() { "<anonymous>".to_owned() } else { method.to_owned() },
            assembly: line.to_owned(),
            file_name: file_name.to_owned(),
            line: line_no,
            column,
        });
    }
    (frames, full)
}

/// `at method (location)` or `at location`.
fn parse_v8(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("at ")?;
    if let Some(open) = crate::text::find(rest, " (") {
        // (`get`, not indexing, here and below: no slicing panic path in the .wasm.)
        if let (true, Some(method), Some(mut location)) =
            (rest.ends_with(')'), rest.get(..open), rest.get(open + 2..rest.len() - 1))
        {
            // `eval at f (file:1:2), <anonymous>:3:4`: the eval's own position is the last part.
            if let Some(comma) = crate::text::rfind(location, ", ") {
                if location.starts_with("eval at ") {
                    location = location.get(comma + 2..).unwrap_or(location);
                }
            }
            return Some((method, location));
        }
    }
    // Without a function name the location must look like one: `file:line[:col]`.
    let (_, line_no, _) = split_location(rest);
    (line_no > 0 || rest == "native" || rest == "<anonymous>").then_some(("", rest))
}

/// `method@location` (SpiderMonkey, JavaScriptCore).
fn parse_at_sign(line: &str) -> Option<(&str, &str)> {
    let at = line.find('@')?;
    let (method, location) = (line.get(..at)?, line.get(at + 1..)?);
    // The location must look like one (`file:line[:col]`), so that messages with an `@` in
    // them (`Error: no user bob@example.com`) are not taken for frames.
    let (_, line_no, _) = split_location(location);
    (line_no > 0 || location == "[native code]").then_some((method, location))
}

/// A JavaScriptCore frame without a function name: `file:line:col`, or `[native code]`.
fn parse_bare(line: &str) -> Option<(&str, &str)> {
    if line == "[native code]" {
        return Some(("", line));
    }
    let (_, line_no, _) = split_location(line);
    (line_no > 0 && !line.contains(' ')).then_some(("", line))
}

/// `file:line:col` → (file, line, col); missing numbers are 0.
fn split_location(location: &str) -> (&str, u32, u32) {
    let (head, last) = match location.rsplit_once(':') {
        Some((h, l)) if is_number(l) => (h, l),
        _ => return (location, 0, 0),
    };
    match head.rsplit_once(':') {
        Some((file, line)) if is_number(line) => (file, parse_u32(line), parse_u32(last)),
        _ => (head, parse_u32(last), 0),
    }
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn parse_u32(text: &str) -> u32 {
    text.parse().unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(stack: &str) -> Vec<(String, String, u32, u32)> {
        parse_stack(stack).0.into_iter().map(|f| (f.method, f.file_name, f.line, f.column)).collect()
    }

    fn f(method: &str, file: &str, line: u32, column: u32) -> (String, String, u32, u32) {
        (method.into(), file.into(), line, column)
    }

    #[test]
    fn v8_chrome_node_and_workerd() {
        let stack = "TypeError: Cannot read properties of undefined (reading 'x')\n    at Object.compute (https://shop.example/app.js:10:15)\n    at https://shop.example/app.js:20:3\n    at async Promise.all (index 0)\n    at new Cart (webpack:///./src/cart.ts?abc:7:9)\n    at eval (eval at run (https://shop.example/app.js:30:5), <anonymous>:1:8)\n    at node:internal/process/task_queues:95:5\n    at worker.mjs:12:11";
        assert_eq!(
            summary(stack),
            vec![
                f("Object.compute", "https://shop.example/app.js", 10, 15),
                f("<anonymous>", "https://shop.example/app.js", 20, 3),
                f("async Promise.all", "index 0", 0, 0),
                f("new Cart", "webpack:///./src/cart.ts?abc", 7, 9),
                f("eval", "<anonymous>", 1, 8),
                f("<anonymous>", "node:internal/process/task_queues", 95, 5),
                f("<anonymous>", "worker.mjs", 12, 11),
            ]
        );
        let (frames, full) = parse_stack(stack);
        assert!(full);
        assert_eq!(frames[0].level, 0);
        assert_eq!(frames[6].level, 6);
        assert_eq!(frames[0].assembly, "at Object.compute (https://shop.example/app.js:10:15)");
    }

    #[test]
    fn spidermonkey_firefox() {
        let stack = "compute@https://shop.example/app.js:10:15\nCart/<@https://shop.example/app.js:12:1\n@https://shop.example/app.js:20:3\npromise callback*run@https://shop.example/app.js:25:7\n";
        assert_eq!(
            summary(stack),
            vec![
                f("compute", "https://shop.example/app.js", 10, 15),
                f("Cart/<", "https://shop.example/app.js", 12, 1),
                f("<anonymous>", "https://shop.example/app.js", 20, 3),
                f("promise callback*run", "https://shop.example/app.js", 25, 7),
            ]
        );
    }

    #[test]
    fn javascriptcore_safari() {
        let stack = "compute@https://shop.example/app.js:10:15\nglobal code@https://shop.example/app.js:20:3\nhttps://shop.example/app.js:30:1\n[native code]\nmodule code@https://shop.example/main.mjs:2:4";
        assert_eq!(
            summary(stack),
            vec![
                f("compute", "https://shop.example/app.js", 10, 15),
                f("global code", "https://shop.example/app.js", 20, 3),
                f("<anonymous>", "https://shop.example/app.js", 30, 1),
                f("<anonymous>", "[native code]", 0, 0),
                f("module code", "https://shop.example/main.mjs", 2, 4),
            ]
        );
    }

    #[test]
    fn headers_messages_and_garbage_are_not_frames() {
        assert!(summary("Error: boom\nat the end of the day we failed").is_empty());
        assert!(summary("").is_empty());
        assert!(summary("just a message with: colons 1:2 inside").is_empty());
        assert!(summary("Error: no user bob@example.com").is_empty());
        assert!(summary("ünïcode@ⓕⓘⓛⓔ:1:2").len() == 1, "non-ASCII never panics");
    }

    #[test]
    fn long_stacks_are_cut_and_marked() {
        let stack: String = (0..150).map(|i| format!("    at f{i} (a.js:{i}:1)\n")).collect();
        let (frames, full) = parse_stack(&stack);
        assert_eq!(frames.len(), MAX_FRAMES);
        assert!(!full);
    }
}
