"use strict";
// The rating page: autosave every rating, keyboard shortcuts, one-at-a-time paging, full-size images.
(function () {
  const main = document.getElementById("rating");
  if (!main) return;
  const api = main.dataset.api;
  const oneAtATime = main.dataset.layout === "one_at_a_time";
  const scales = Array.from(document.querySelectorAll("fieldset.scale"));
  const outputs = Array.from(document.querySelectorAll("article.output"));
  const status = document.getElementById("status");
  const dialog = document.getElementById("zoom-dialog");
  const zoomImg = document.getElementById("zoom-img");
  let saving = Promise.resolve();
  let failures = 0;
  let opener = null;

  const say = (text) => { status.textContent = text; };
  const value = (fs) => { const c = fs.querySelector("input:checked"); return c ? Number(c.value) : null; };
  const missing = () => scales.filter((fs) => value(fs) === null);

  function post(url, body) {
    return fetch(url, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
      credentials: "same-origin",
    }).then((r) => r.json().then((j) => ({ ok: r.ok, body: j })));
  }

  function update() {
    const left = missing().length;
    say(left ? left + (left === 1 ? " rating" : " ratings") + " left on this item"
             : "All rated. Press Enter or the button for the next item.");
  }

  function save(fs) {
    const body = { slot: fs.dataset.slot, criterion: fs.dataset.criterion, score: value(fs) };
    fs.classList.remove("saved", "failed");
    saving = saving.then(() => post(api + "/rate", body)).then((res) => {
      if (!res.ok) throw new Error(res.body.error || "refused");
      fs.classList.add("saved");
    }).catch((err) => {
      failures += 1;
      fs.classList.add("failed");
      say("Not saved (" + err.message + "). Check the connection and rate again.");
    });
    update();
  }

  function showSlot(article) {
    if (!oneAtATime || !article) return;
    outputs.forEach((o) => o.classList.toggle("current", o === article));
    document.getElementById("slot-pos").textContent =
      "Output " + (outputs.indexOf(article) + 1) + " of " + outputs.length;
  }

  function focusScale(fs) {
    if (!fs) { document.getElementById("next").focus(); return; }
    showSlot(fs.closest("article.output"));
    (fs.querySelector("input:checked") || fs.querySelector("input")).focus();
  }

  function currentScale() {
    const fs = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("fieldset.scale") : null;
    return fs || missing()[0] || null;
  }

  function setScore(fs, v) {
    const input = fs.querySelector('input[value="' + v + '"]');
    input.checked = true;
    save(fs);
    const after = scales.slice(scales.indexOf(fs) + 1).find((s) => value(s) === null) || missing()[0];
    focusScale(after || null);
  }

  async function next() {
    const left = missing();
    if (left.length) {
      focusScale(left[0]);
      say(left.length + (left.length === 1 ? " rating is" : " ratings are") + " still missing on this item.");
      return;
    }
    say("Saving…");
    const before = failures;
    await saving;
    if (failures > before) return;
    const res = await post(api + "/submit");
    if (res.ok) { window.location.assign(res.body.next); return; }
    say("Not saved: " + (res.body.error || "refused") + (res.body.missing ? " (" + res.body.missing.join(", ") + ")" : ""));
  }

  function zoom(button) {
    opener = button;
    zoomImg.src = button.dataset.full;
    zoomImg.alt = button.getAttribute("aria-label").replace(", open full size", " (full size)");
    dialog.showModal();
    document.getElementById("zoom-close").focus();
  }

  document.addEventListener("change", (ev) => {
    const fs = ev.target.closest("fieldset.scale");
    if (fs) save(fs);
  });
  document.querySelectorAll("button.zoom").forEach((b) => b.addEventListener("click", () => zoom(b)));
  document.getElementById("zoom-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { if (opener) opener.focus(); });
  document.getElementById("next").addEventListener("click", next);
  if (oneAtATime) {
    const step = (d) => {
      const cur = outputs.findIndex((o) => o.classList.contains("current"));
      const target = outputs[(cur + d + outputs.length) % outputs.length];
      showSlot(target);
      focusScale(target.querySelector("fieldset.scale"));
    };
    document.getElementById("prev-slot").addEventListener("click", () => step(-1));
    document.getElementById("next-slot").addEventListener("click", () => step(1));
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "[" || ev.key === "]") { ev.preventDefault(); step(ev.key === "]" ? 1 : -1); }
    });
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || dialog.open) return;
    const tag = ev.target.tagName;
    if (/^[0-9t]$/.test(ev.key)) {
      const fs = currentScale();
      if (fs) { ev.preventDefault(); setScore(fs, ev.key === "t" ? 10 : Number(ev.key)); }
    } else if (ev.key === "Enter" && tag !== "BUTTON" && tag !== "A" && tag !== "SUMMARY") {
      ev.preventDefault();
      next();
    } else if (ev.key === "p") {
      const prev = document.getElementById("prev");
      if (prev) { ev.preventDefault(); window.location.assign(prev.href); }
    } else if (ev.key === "f") {
      const fs = ev.target.closest ? ev.target.closest("article.output") : null;
      const button = (fs || document).querySelector("button.zoom");
      if (button) { ev.preventDefault(); zoom(button); }
    }
  });

  // resume exactly: the first unrated scale (its output shown), or the Next button when all are rated
  showSlot(outputs[0]);
  focusScale(missing()[0] || null);
  update();
})();
