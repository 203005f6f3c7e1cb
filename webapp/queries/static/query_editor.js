// The query editor's builder: root entity, nested AND/OR blocks of conditions, output
// fields and sort, group fields and aggregates, kept in the JSON of the form's "definition" field. Without this script
// the JSON is edited as text; the server checks it either way.

const builder = document.getElementById("query-builder");
const source = builder ? document.getElementById(builder.dataset.for) : null;

document.documentElement.classList.add("js");

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
}

const NO_VALUES = new Set(["is_empty", "not_empty"]);
const TWO_VALUES = new Set(["between", "not_between"]);
const ONE_VALUE = new Set(["at_most", "at_least"]);

let schema = null;
let definition = null;
let fieldsByPath = new Map();

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) {
      continue;
    }
    if (name.startsWith("on")) {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, value);
    }
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return element;
}

function text(key) {
  return schema.texts[key] || key;
}

function isBlock(node) {
  return node && typeof node === "object" && ("conditions" in node || "op" in node);
}

// ---------------------------------------------------------------------------------------
// The field tree: every field with its relation path, and whether it has one value per record

function collectFields(nodes, trail, toMany, into) {
  for (const node of nodes) {
    if (node.kind === "field") {
      into.push({ ...node, group: trail.map((step) => step.title).join(" › "), toMany });
    } else {
      collectFields(node.children, [...trail, node], toMany || node.to_many, into);
    }
  }
  return into;
}

function rootFields() {
  const root = schema.roots[definition.root];
  return root ? collectFields(root.fields, [], false, []) : [];
}

function fieldSelect(selected, { singleValued = false, types = null, onchange, label }) {
  const select = h("select", { class: "input field-select", "aria-label": label, onchange });
  select.append(h("option", { value: "" }, text("choose_field")));
  const groups = new Map();
  for (const field of rootFields()) {
    if ((singleValued && field.toMany) || (types && !types.includes(field.type))) {
      continue;
    }
    const groupLabel = field.group || schema.roots[definition.root].title;
    if (!groups.has(groupLabel)) {
      groups.set(groupLabel, h("optgroup", { label: groupLabel }));
    }
    const option = h("option", { value: field.path }, field.title);
    option.selected = field.path === selected;
    groups.get(groupLabel).append(option);
  }
  select.append(...groups.values());
  return select;
}

// ---------------------------------------------------------------------------------------
// Conditions

function valueInput(field, type, value, onchange, label) {
  if (field && field.type === "boolean") {
    const select = h("select", { class: "input value-input", "aria-label": label, onchange });
    for (const [optionValue, optionLabel] of [["true", text("yes")], ["false", text("no")]]) {
      const option = h("option", { value: optionValue }, optionLabel);
      option.selected = String(value) === optionValue;
      select.append(option);
    }
    return select;
  }
  const isDay = field && (field.type === "date" || field.type === "datetime");
  const input = h("input", {
    class: "input value-input",
    type: isDay ? "date" : "text",
    inputmode: field && field.type === "number" ? "decimal" : null,
    value: value === undefined || value === null ? "" : String(value),
    "aria-label": label,
    oninput: onchange,
  });
  return input;
}

function valuesEditor(condition, field, changed) {
  const type = condition.type;
  const values = Array.isArray(condition.values) ? condition.values : [];
  const box = h("div", { class: "values" });
  if (!type || NO_VALUES.has(type)) {
    return box;
  }
  const set = (index) => (event) => {
    let value = event.target.value;
    if (field && field.type === "boolean") {
      value = value === "true";
    }
    values[index] = value;
    condition.values = values;
    changed(false);
  };
  if (field && field.type === "choice" && !TWO_VALUES.has(type) && !ONE_VALUE.has(type)) {
    // each choice is stored as its value and shown by its title in the reader's language
    const choices = field.choices || [];
    for (const choice of choices) {
      const box_ = h("input", {
        type: "checkbox",
        value: choice.value,
        onchange: (event) => {
          const chosen = new Set(condition.values || []);
          if (event.target.checked) {
            chosen.add(choice.value);
          } else {
            chosen.delete(choice.value);
          }
          condition.values = choices.map((c) => c.value).filter((value) => chosen.has(value));
          changed(false);
        },
      });
      box_.checked = values.includes(choice.value);
      box.append(h("label", { class: "check chip" }, box_, " ", choice.title));
    }
    return box;
  }
  if (TWO_VALUES.has(type)) {
    box.append(
      valueInput(field, type, values[0], set(0), text("from")),
      h("span", { class: "muted" }, text("and")),
      valueInput(field, type, values[1], set(1), text("to")),
    );
    return box;
  }
  if (ONE_VALUE.has(type) || (field && field.type === "boolean")) {
    box.append(valueInput(field, type, values[0], set(0), text("value")));
    return box;
  }
  const shown = values.length ? values : [""];
  shown.forEach((value, index) => {
    box.append(valueInput(field, type, value, set(index), `${text("value")} ${index + 1}`));
  });
  box.append(
    h(
      "button",
      {
        type: "button",
        class: "button button-icon",
        title: text("add_value"),
        onclick: () => {
          condition.values = [...shown, ""];
          changed(true);
        },
      },
      "+",
    ),
  );
  return box;
}

function fittingValues(type, values, field) {
  // the values a condition type takes: none, two (from, to), one, or any number
  if (NO_VALUES.has(type)) {
    return [];
  }
  if (field && field.type === "boolean") {
    return values.length ? values.slice(0, 1) : [true];
  }
  if (TWO_VALUES.has(type)) {
    return values.slice(0, 2);
  }
  if (ONE_VALUE.has(type)) {
    return values.slice(0, 1);
  }
  return values;
}

function conditionRow(condition, number, remove, changed) {
  const field = fieldsByPath.get(condition.field);
  const allowed = field ? schema.types[field.type] : [];
  const typeSelect = h("select", {
    class: "input type-select",
    "aria-label": text("condition_type"),
    disabled: !field,
    onchange: (event) => {
      condition.type = event.target.value;
      condition.values = fittingValues(condition.type, condition.values || [], field);
      changed(true);
    },
  });
  for (const type of allowed) {
    const option = h("option", { value: type }, schema.type_labels[type]);
    option.selected = type === condition.type;
    typeSelect.append(option);
  }
  return h(
    "div",
    { class: "condition", "data-condition": number },
    h("span", { class: "node-number", title: `${text("condition")} ${number}` }, number),
    fieldSelect(condition.field, {
      label: text("field"),
      onchange: (event) => {
        const next = fieldsByPath.get(event.target.value);
        condition.field = event.target.value;
        if (next && !schema.types[next.type].includes(condition.type)) {
          condition.type = schema.types[next.type][0];
        }
        if (!field || !next || field.type !== next.type) {
          condition.values = [];
        }
        condition.values = fittingValues(condition.type, condition.values, next);
        changed(true);
      },
    }),
    typeSelect,
    valuesEditor(condition, field, changed),
    h(
      "button",
      { type: "button", class: "button button-icon button-danger-quiet", title: text("remove"), onclick: remove },
      "✕",
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Blocks

function blockView(block, number, remove, changed) {
  block.op = block.op || "and";
  block.conditions = block.conditions || [];
  const opSelect = h("select", {
    class: "input op-select",
    "aria-label": text("combine"),
    onchange: (event) => {
      block.op = event.target.value;
      changed(true);
    },
  });
  for (const op of ["and", "or"]) {
    const option = h("option", { value: op }, text(`op_${op}`));
    option.selected = block.op === op;
    opSelect.append(option);
  }
  const children = block.conditions.map((node, index) => {
    const removeChild = () => {
      block.conditions.splice(index, 1);
      changed(true);
    };
    return isBlock(node)
      ? blockView(node, index + 1, removeChild, changed)
      : conditionRow(node, index + 1, removeChild, changed);
  });
  return h(
    "div",
    { class: `block block-${block.op}`, "data-block": number || "root" },
    h(
      "div",
      { class: "block-head" },
      number ? h("span", { class: "node-number" }, number) : null,
      opSelect,
      remove
        ? h(
            "button",
            { type: "button", class: "button button-icon button-danger-quiet", title: text("remove_block"), onclick: remove },
            "✕",
          )
        : null,
    ),
    h("div", { class: "block-body" }, children.length ? children : h("p", { class: "muted empty-block" }, text("empty_block"))),
    h(
      "div",
      { class: "block-tools" },
      h(
        "button",
        {
          type: "button",
          class: "button button-quiet button-small",
          "data-add": "condition",
          onclick: () => {
            block.conditions.push({ field: "", type: "equals", values: [] });
            changed(true);
          },
        },
        `+ ${text("add_condition")}`,
      ),
      h(
        "button",
        {
          type: "button",
          class: "button button-quiet button-small",
          "data-add": "block",
          onclick: () => {
            block.conditions.push({ op: block.op === "and" ? "or" : "and", conditions: [] });
            changed(true);
          },
        },
        `+ ${text("add_block")}`,
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Output fields and sort

function outputView(changed) {
  definition.output = definition.output || [];
  const list = h("ul", { class: "chips" });
  definition.output.forEach((path, index) => {
    const field = fieldsByPath.get(path);
    list.append(
      h(
        "li",
        { class: "chip" },
        field ? (field.group ? `${field.group} › ${field.title}` : field.title) : path,
        h(
          "button",
          {
            type: "button",
            class: "chip-remove",
            title: text("remove"),
            onclick: () => {
              definition.output.splice(index, 1);
              changed(true);
            },
          },
          "✕",
        ),
      ),
    );
  });
  const adder = fieldSelect("", {
    singleValued: true,
    label: text("add_output"),
    onchange: (event) => {
      if (event.target.value && !definition.output.includes(event.target.value)) {
        definition.output.push(event.target.value);
      }
      changed(true);
    },
  });
  return h(
    "div",
    { class: "output" },
    h("h3", {}, text("output")),
    h("p", { class: "help" }, text("output_help")),
    list,
    adder,
  );
}

function sortView(changed) {
  definition.sort = definition.sort || [];
  const rows = definition.sort.map((key, index) =>
    h(
      "div",
      { class: "sort-row" },
      fieldSelect(key.field, {
        singleValued: true,
        label: text("sort_field"),
        onchange: (event) => {
          key.field = event.target.value;
          changed(true);
        },
      }),
      (() => {
        const select = h("select", {
          class: "input",
          "aria-label": text("direction"),
          onchange: (event) => {
            key.descending = event.target.value === "desc";
            changed(false);
          },
        });
        for (const [value, label] of [["asc", text("ascending")], ["desc", text("descending")]]) {
          const option = h("option", { value }, label);
          option.selected = (value === "desc") === Boolean(key.descending);
          select.append(option);
        }
        return select;
      })(),
      h(
        "button",
        {
          type: "button",
          class: "button button-icon button-danger-quiet",
          title: text("remove"),
          onclick: () => {
            definition.sort.splice(index, 1);
            changed(true);
          },
        },
        "✕",
      ),
    ),
  );
  return h(
    "div",
    { class: "sort" },
    h("h3", {}, text("sort")),
    rows,
    h(
      "button",
      {
        type: "button",
        class: "button button-quiet button-small",
        onclick: () => {
          definition.sort.push({ field: "", descending: false });
          changed(true);
        },
      },
      `+ ${text("add_sort")}`,
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Group fields and aggregates: one result row per group instead of one per record

function fieldLabel(path) {
  const field = fieldsByPath.get(path);
  return field ? (field.group ? `${field.group} › ${field.title}` : field.title) : path;
}

function removeButton(onclick) {
  return h(
    "button",
    { type: "button", class: "button button-icon button-danger-quiet", title: text("remove"), onclick },
    "✕",
  );
}

function groupView(changed) {
  definition.group_by = definition.group_by || [];
  definition.aggregates = definition.aggregates || [];
  const groups = h("ul", { class: "chips" });
  definition.group_by.forEach((path, index) => {
    groups.append(
      h(
        "li",
        { class: "chip" },
        fieldLabel(path),
        h(
          "button",
          {
            type: "button",
            class: "chip-remove",
            title: text("remove"),
            onclick: () => {
              definition.group_by.splice(index, 1);
              changed(true);
            },
          },
          "✕",
        ),
      ),
    );
  });
  const groupAdder = fieldSelect("", {
    singleValued: true,
    label: text("add_group"),
    onchange: (event) => {
      const path = event.target.value;
      if (path && !definition.group_by.includes(path)) {
        definition.group_by.push(path);
        if (!definition.aggregates.length) {
          definition.aggregates.push({ function: "count" });
        }
      }
      changed(true);
    },
  });
  const rows = definition.aggregates.map((aggregate, index) => {
    const types = schema.aggregates[aggregate.function] || [];
    const functionSelect = h("select", {
      class: "input",
      "aria-label": text("aggregate_function"),
      onchange: (event) => {
        aggregate.function = event.target.value;
        const fits = schema.aggregates[aggregate.function] || [];
        const field = fieldsByPath.get(aggregate.field);
        if (!fits.length || !field || !fits.includes(field.type)) {
          delete aggregate.field;
        }
        changed(true);
      },
    });
    for (const name of Object.keys(schema.aggregates)) {
      const option = h("option", { value: name }, schema.aggregate_labels[name]);
      option.selected = name === aggregate.function;
      functionSelect.append(option);
    }
    return h(
      "div",
      { class: "sort-row aggregate-row" },
      functionSelect,
      types.length
        ? fieldSelect(aggregate.field || "", {
            singleValued: true,
            types,
            label: text("aggregate_field"),
            onchange: (event) => {
              aggregate.field = event.target.value;
              changed(false);
            },
          })
        : null,
      removeButton(() => {
        definition.aggregates.splice(index, 1);
        changed(true);
      }),
    );
  });
  return h(
    "div",
    { class: "group" },
    h("h3", {}, text("group")),
    h("p", { class: "help" }, text("group_help")),
    groups,
    groupAdder,
    h("h3", {}, text("aggregates")),
    rows,
    h(
      "button",
      {
        type: "button",
        class: "button button-quiet button-small",
        onclick: () => {
          definition.aggregates.push({ function: "count" });
          changed(true);
        },
      },
      `+ ${text("add_aggregate")}`,
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Wiring

function cleaned() {
  // drop half-entered rows the user has not chosen a field for, and empty values
  const prune = (block) => ({
    op: block.op || "and",
    conditions: (block.conditions || [])
      .filter((node) => isBlock(node) || node.field)
      .map((node) =>
        isBlock(node)
          ? prune(node)
          : {
              field: node.field,
              type: node.type,
              values: (node.values || []).filter((value) => value !== ""),
            },
      ),
  });
  const result = { root: definition.root, where: prune(definition.where || {}) };
  if (definition.output && definition.output.length) {
    result.output = definition.output;
  }
  const sort = (definition.sort || []).filter((key) => key.field);
  if (sort.length) {
    result.sort = sort.map((key) => (key.descending ? { field: key.field, descending: true } : { field: key.field }));
  }
  if (definition.group_by && definition.group_by.length) {
    result.group_by = definition.group_by;
  }
  const aggregates = (definition.aggregates || []).filter(
    (aggregate) => !(schema.aggregates[aggregate.function] || []).length || aggregate.field,
  );
  if (aggregates.length) {
    result.aggregates = aggregates.map((aggregate) =>
      aggregate.field ? { function: aggregate.function, field: aggregate.field } : { function: aggregate.function },
    );
  }
  return result;
}

function serialise() {
  source.value = JSON.stringify(cleaned(), null, 2);
}

function render() {
  fieldsByPath = new Map(rootFields().map((field) => [field.path, field]));
  const rootSelect = h("select", {
    class: "input",
    id: "query-root",
    onchange: (event) => {
      definition = { root: event.target.value, where: { op: "and", conditions: [] } };
      changed(true);
    },
  });
  for (const [name, root] of Object.entries(schema.roots)) {
    const option = h("option", { value: name }, root.title);
    option.selected = name === definition.root;
    rootSelect.append(option);
  }
  builder.replaceChildren(
    h("div", { class: "field root-field" }, h("label", { for: "query-root" }, text("root")), rootSelect),
    blockView(definition.where, 0, null, changed),
    h("div", { class: "output-sort" }, outputView(changed), sortView(changed)),
    groupView(changed),
  );
}

function changed(redraw) {
  serialise();
  if (redraw) {
    render();
  }
}

function load() {
  try {
    const parsed = JSON.parse(source.value || "{}");
    if (!parsed || typeof parsed !== "object" || !schema.roots[parsed.root]) {
      return false;
    }
    definition = parsed;
    definition.where = isBlock(definition.where) ? definition.where : { op: "and", conditions: [] };
    return true;
  } catch {
    return false;
  }
}

async function start() {
  if (!builder || !source) {
    return;
  }
  const response = await fetch(builder.dataset.schemaUrl, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    return;
  }
  schema = await response.json();
  if (!load()) {
    return; // the JSON is broken: leave it to the text field and the server's message
  }
  const details = document.querySelector("[data-json-details]");
  if (details) {
    details.open = false;
  }
  source.addEventListener("change", () => {
    if (load()) {
      render();
    }
  });
  render();
  builder.dataset.ready = "true";
}

start();
