// "Do you need them by a date?" at checkout (docs/delays.md, "I need it by"): as soon as the customer
// picks a date before the latest date we expect the waiting items by, say so beside the field. The
// shop checks it again when the order is placed and asks the customer to confirm (NeedByLate).
(function () {
  "use strict";
  const fieldset = document.querySelector("fieldset.need-by[data-latest]");
  const input = document.getElementById("id_need_by");
  const hint = document.getElementById("need-by-live");
  if (!fieldset || !input || !hint) {
    return;
  }
  function update() {
    // ISO dates (yyyy-mm-dd) compare as strings.
    hint.hidden = !(input.value && input.value < fieldset.dataset.latest);
  }
  input.addEventListener("input", update);
  input.addEventListener("change", update);
  update();
})();
