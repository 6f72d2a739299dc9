// Checkout with a card through Stripe (docs/payments.md). The card is typed into Stripe's own field
// (Stripe.js's Card Element), so the card number never reaches the shop. On "Place order":
//   1. the shop starts a SetupIntent for this checkout (POST data-card-setup-url, JSON back);
//   2. Stripe.js confirms it with the card (3-D Secure in Stripe's window when the bank asks);
//   3. the form is submitted with the SetupIntent's id; the shop holds or charges what is due now.
// If the bank asks to confirm that payment too, the page comes back with data-payment-action-secret:
// Stripe.js asks the bank, then the form is submitted again with the PaymentIntent's id.
(function () {
  "use strict";
  const form = document.getElementById("checkout-form");
  if (!form || !form.dataset.stripeKey || typeof Stripe === "undefined") {
    return;
  }
  // Stripe's field and its messages in the page's language; the shop's own words come translated in
  // the form's data-word-* attributes (English here only if one is missing).
  const stripe = Stripe(form.dataset.stripeKey, { locale: document.documentElement.lang || "auto" });
  const words = form.dataset;
  const entry = document.getElementById("card-entry");
  const errors = document.getElementById("card-errors");
  const submit = form.querySelector('button[type="submit"]');
  const label = submit.textContent; // "Place order", in the page's language
  const setupField = form.elements.card_setup_intent;
  const paymentField = form.elements.card_payment_intent;
  const card = stripe.elements().create("card", { hidePostalCode: true });
  card.mount("#card-element");

  function method() {
    const checked = form.querySelector('input[name="payment_method"]:checked');
    return checked ? checked.value : "";
  }

  const testCard = document.getElementById("div_id_card_number"); // the test gateway's field (tests only)

  function showEntry() {
    entry.hidden = method() !== "card";
    if (testCard) {
      testCard.hidden = method() !== "test_card";
    }
  }

  function fail(message) {
    errors.textContent = message || words.wordCardFailed || "Your card could not be checked. Please try again.";
    submit.disabled = false;
    submit.textContent = label;
    setupField.value = "";
    paymentField.value = "";
  }

  function busy(text) {
    errors.textContent = "";
    submit.disabled = true;
    submit.textContent = text;
  }

  form.querySelectorAll('input[name="payment_method"]').forEach((input) => {
    input.addEventListener("change", showEntry);
  });
  showEntry();

  form.addEventListener("submit", async (event) => {
    if (method() !== "card" || setupField.value) {
      return; // another way to pay, or the card is already saved for this checkout
    }
    event.preventDefault();
    busy(words.wordChecking || "Checking your card…");
    const body = new FormData();
    ["csrfmiddlewaretoken", "idempotency_key", "email", "full_name"].forEach((name) => {
      if (form.elements[name]) {
        body.append(name, form.elements[name].value);
      }
    });
    let answer;
    try {
      const response = await fetch(form.dataset.cardSetupUrl, {
        method: "POST",
        body,
        credentials: "same-origin",
      });
      answer = await response.json();
    } catch (err) {
      fail(words.wordUnreachable || "We could not reach the shop. Check your connection and try again; nothing was ordered.");
      return;
    }
    if (answer.error) {
      fail(answer.error);
      return;
    }
    const result = await stripe.confirmCardSetup(answer.client_secret, {
      payment_method: {
        card,
        billing_details: { name: form.elements.full_name.value, email: form.elements.email.value },
      },
    });
    if (result.error) {
      fail(result.error.message);
      return;
    }
    setupField.value = result.setupIntent.id;
    busy(words.wordPlacing || "Placing your order…");
    form.submit();
  });

  // The bank asks the customer to confirm the payment held at checkout (3-D Secure).
  const actionSecret = form.dataset.paymentActionSecret;
  if (actionSecret) {
    busy(words.wordConfirming || "Confirming with your bank…");
    stripe.confirmCardPayment(actionSecret).then((result) => {
      if (result.error || !result.paymentIntent) {
        fail((result.error && result.error.message) || words.wordNotConfirmed || "Your bank did not confirm the payment. Nothing was charged.");
        return;
      }
      busy(words.wordPlacing || "Placing your order…");
      form.submit();
    });
  }
})();
