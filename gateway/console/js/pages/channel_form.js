// The create/edit form of a channel (an upstream provider).

import { api } from "../api.js";
import { formDialog } from "../dialog.js";
import { h } from "../dom.js";
import { plural, splitList } from "../format.js";
import { kvTable } from "../kvtable.js";
import { busy, button, field, rowMessage } from "../ui.js";

export const TYPES = { 1: "OpenAI", 3: "Azure OpenAI", 14: "Anthropic", 24: "Google Gemini", 99: "OpenAI-compatible" };
const DEFAULT_URL = { 1: "https://api.openai.com", 14: "https://api.anthropic.com", 24: "https://generativelanguage.googleapis.com" };

/** Opens the channel form; `ch` is null to create. Calls `done()` after saving. */
export function channelDialog(ch, done) {
  const name = h("input", { id: "ch-name", value: ch?.name || "", required: true });
  const type = h("select", { id: "ch-type" }, Object.entries(TYPES).map(([v, l]) =>
    h("option", { value: v, selected: Number(v) === (ch?.type ?? 1) }, `${l} (${v})`)));
  const baseUrl = h("input", { id: "ch-base-url", value: ch?.base_url || "", type: "url", inputmode: "url", spellcheck: "false" });
  // A textarea, masked like a password field: a channel may hold several keys, one a line.
  const key = h("textarea", { id: "ch-key", class: "secret-lines", rows: 2, autocomplete: "off", spellcheck: "false",
    placeholder: ch ? `unchanged (…${ch.key_preview})` : "" });
  const models = h("textarea", { id: "ch-models", rows: 2, spellcheck: "false" }, (ch?.models || []).join(", "));
  const mapping = kvTable(ch?.model_mapping || {}, { keyLabel: "Requested model", valueLabel: "Upstream model", addLabel: "Add mapping", id: "ch-mapping" });
  const priority = h("input", { id: "ch-priority", type: "number", step: 1, value: ch?.priority ?? 0 });
  const weight = h("input", { id: "ch-weight", type: "number", min: 0, step: 1, value: ch?.weight ?? 1 });
  const group = h("input", { id: "ch-group", value: ch?.group || "default" });
  const relay = h("select", { id: "ch-relay" },
    [["", "Follow RELAY_PROXY_URL"], ["true", "Always through the relay"], ["false", "Never (direct)"]].map(([v, l]) =>
      h("option", { value: v, selected: String(ch?.use_relay ?? "") === v }, l)));
  const apiVersion = h("input", { id: "ch-api-version", value: ch?.api_version || "", placeholder: "2024-10-21" });
  const azureOnly = field("Azure API version", apiVersion);
  const urlHint = h("span");
  const sync = () => {
    const t = Number(type.value);
    azureOnly.hidden = t !== 3;
    baseUrl.placeholder = DEFAULT_URL[t] || "https://your-server.example.com";
    urlHint.textContent = DEFAULT_URL[t] ? `Empty = ${DEFAULT_URL[t]}` : "Required: the server root (a trailing /v1 is fine)";
  };
  type.addEventListener("change", sync);
  sync();

  // Asks the provider for its models (with the key typed here, else the stored one) and
  // adds the ones not listed yet; nothing is saved until the form is.
  const fetchMsg = rowMessage();
  const fetchModels = button("Fetch models", () => busy(fetchModels, { show: fetchMsg.bad, clear: fetchMsg.clear }, async () => {
    const body = {
      type: Number(type.value),
      base_url: baseUrl.value.trim() || undefined,
      key: key.value.trim().split("\n")[0].trim() || undefined,
      api_version: apiVersion.value.trim() || undefined,
      use_relay: relay.value === "" ? undefined : relay.value === "true",
      id: ch ? ch.id : undefined,
    };
    if (!ch && !body.key) throw new Error("Enter the provider's API key first.");
    const { models: listed } = await api("POST", "/channel/fetch_models", body);
    const have = splitList(models.value);
    const added = listed.filter((m) => !have.includes(m));
    models.value = [...have, ...added].join(", ");
    fetchMsg.good(listed.length
      ? `Added ${added.length} of ${plural(listed.length, "model")} the provider lists.`
      : "The provider lists no models.");
  }), { class: "small", id: "ch-fetch-models" });

  const fields = [
    h("div", { class: "form-grid" }, field("Name", name), field("Type", type)),
    field("Base URL", baseUrl, urlHint),
    field("API key", key, (ch ? "Leave empty to keep the stored keys. " : "")
      + "Several keys, one a line, are used in turn. Stored encrypted; never shown again."),
    field("Models", models, "Comma-separated model names this channel serves"),
    h("div", { class: "field actions" }, fetchModels, fetchMsg.el),
    h("div", { class: "field" }, h("span", { class: "label" }, "Model mapping"), h("div", { class: "hint" }, "Requested name → name sent upstream (optional)"), mapping.el),
    h("div", { class: "form-grid" },
      field("Priority", priority, "Higher tiers are tried first"),
      field("Weight", weight, "Share inside a tier"),
      field("Group", group),
      field("Relay", relay)),
    azureOnly,
  ];
  return formDialog(ch ? `Edit channel “${ch.name}”` : "New channel", fields, ch ? "Save" : "Create channel", async () => {
    const body = {
      name: name.value.trim(),
      type: Number(type.value),
      base_url: baseUrl.value.trim() || null,
      models: splitList(models.value),
      model_mapping: mapping.read(),
      priority: Number(priority.value || 0),
      weight: Number(weight.value || 0),
      group: group.value.trim() || "default",
      use_relay: relay.value === "" ? null : relay.value === "true",
      api_version: apiVersion.value.trim() || null,
    };
    if (!body.name) throw new Error("Give the channel a name.");
    if (key.value.trim()) body.key = key.value.trim();
    else if (!ch) throw new Error("Enter the provider's API key.");
    if (ch) await api("PUT", `/channel/${ch.id}`, body);
    else await api("POST", "/channel", body);
    done();
  });
}
