//! Opening and closing output items: the `added` and `done` events of each kind.

use super::super::response::{item_id, message_item, output_text, reasoning_item};
use super::{Item, Kind, ToResponses};
use bytes::Bytes;
use serde_json::json;

impl ToResponses {
    pub(super) fn open(
        &mut self,
        out: &mut Vec<Bytes>,
        kind: Kind,
        call_id: &str,
        name: &str,
    ) -> usize {
        let index = self.items.len();
        let prefix = match kind {
            Kind::Reasoning => "rs",
            Kind::Message => "msg",
            Kind::Call { custom: true } => "ctc",
            Kind::Call { custom: false } => "fc",
        };
        let id = item_id(prefix);
        let item = match kind {
            Kind::Reasoning => json!({"type": "reasoning", "id": id, "summary": []}),
            Kind::Message => json!({"type": "message", "id": id, "status": "in_progress",
                                    "role": "assistant", "content": []}),
            Kind::Call { .. } => {
                let mut v = self.shape.tools.call_item(&id, call_id, name, "");
                v["status"] = json!("in_progress");
                v
            }
        };
        self.emit(
            out,
            "response.output_item.added",
            json!({"output_index": index, "item": item}),
        );
        match kind {
            Kind::Reasoning => self.emit(
                out,
                "response.reasoning_summary_part.added",
                json!({"item_id": id, "output_index": index, "summary_index": 0,
                       "part": {"type": "summary_text", "text": ""}}),
            ),
            Kind::Message => self.emit(
                out,
                "response.content_part.added",
                json!({"item_id": id, "output_index": index, "content_index": 0,
                       "part": output_text("")}),
            ),
            Kind::Call { .. } => {}
        }
        self.items.push(Item {
            kind,
            id,
            text: String::new(),
            call_id: call_id.to_string(),
            name: name.to_string(),
            done: false,
            finished: None,
        });
        index
    }

    pub(super) fn close(&mut self, out: &mut Vec<Bytes>, index: usize) {
        let Some(item) = self.items.get(index).filter(|i| !i.done) else {
            return;
        };
        let (id, text) = (item.id.clone(), item.text.clone());
        let finished = match item.kind {
            Kind::Reasoning => {
                let at = json!({"item_id": id, "output_index": index, "summary_index": 0});
                let mut done = at.clone();
                done["text"] = json!(text);
                self.emit(out, "response.reasoning_summary_text.done", done);
                let mut part = at;
                part["part"] = json!({"type": "summary_text", "text": text});
                self.emit(out, "response.reasoning_summary_part.done", part);
                reasoning_item(&id, &text, self.signed_state().as_deref())
            }
            Kind::Message => {
                let at = json!({"item_id": id, "output_index": index, "content_index": 0});
                let mut done = at.clone();
                done["text"] = json!(text);
                done["logprobs"] = json!([]);
                self.emit(out, "response.output_text.done", done);
                let mut part = at;
                part["part"] = output_text(&text);
                self.emit(out, "response.content_part.done", part);
                message_item(&id, &text, "completed")
            }
            Kind::Call { custom } => {
                let done = self
                    .shape
                    .tools
                    .call_item(&id, &item.call_id, &item.name, &text);
                let at = json!({"item_id": id, "output_index": index});
                if custom {
                    let input = done["input"].clone();
                    let mut delta = at.clone();
                    delta["delta"] = input.clone();
                    self.emit(out, "response.custom_tool_call_input.delta", delta);
                    let mut fin = at;
                    fin["input"] = input;
                    self.emit(out, "response.custom_tool_call_input.done", fin);
                } else {
                    let mut fin = at;
                    fin["arguments"] = json!(text);
                    self.emit(out, "response.function_call_arguments.done", fin);
                }
                done
            }
        };
        self.emit(
            out,
            "response.output_item.done",
            json!({"output_index": index, "item": finished}),
        );
        if let Some(item) = self.items.get_mut(index) {
            item.done = true;
            item.finished = Some(finished);
        }
    }
}
