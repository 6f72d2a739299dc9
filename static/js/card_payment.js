// The card payment page (orders.views.card_payment; docs/payments.md, "When a card payment fails").
// Another card: typed into Stripe.js's Card Element (the number never reaches the shop), the page's
// SetupIntent confirmed with it, then the form posts the SetupIntent's id and the shop charges it.
// When the bank asks the customer to confirm a payment (3-D Secure), the page comes back with
// data-payment-action-secret: Stripe.js asks the bank, then the confirm form posts the PaymentIntent.
(function () {
  "use strict";
  if (typeof Stripe === "undefined") {
    return;
  }
  const newCard = document.getElementById("card-payment-new");
  const confirmForm = document.getElementById("card-payment-confirm");

  if (newCard && newCard.dataset.setupSecret) {
    // Stripe's messages in the page's language; the shop's words come translated in data-word-*.
    const stripe = Stripe(newCard.dataset.stripeKey, { locale: document.documentElement.lang || "auto" });
    const words = newCard.dataset;
    const errors = document.getElementById("card-errors");
    const submit = newCard.querySelector('button[type="submit"]');
    const label = submit.textContent;
    const card = stripe.elements().create("card", { hidePostalCode: true });
    card.mount("#card-element");

    const fail = (message) => {
      errors.textContent =
        message || words.wordCardFailed || "Your card could not be checked. Nothing was charged; please try again.";
      submit.disabled = false;
      submit.textContent = label;
    };

    newCard.addEventListener("submit", async (event) => {
      if (newCard.elements.setup_intent.value) {
        return; // the card is saved: let the form go
      }
      event.preventDefault();
      errors.textContent = "";
      submit.disabled = true;
      submit.textContent = words.wordChecking || "Checking your card…";
      const result = await stripe.confirmCardSetup(newCard.dataset.setupSecret, { payment_method: { card } });
      if (result.error || !result.setupIntent) {
        fail(result.error && result.error.message);
        return;
      }
      newCard.elements.setup_intent.value = result.setupIntent.id;
      submit.textContent = words.wordPaying || "Paying…";
      newCard.submit();
    });
  }

  if (confirmForm && confirmForm.dataset.paymentActionSecret) {
    const stripe = Stripe(confirmForm.dataset.stripeKey, { locale: document.documentElement.lang || "auto" });
    const words = confirmForm.dataset;
    const notice = document.getElementById("card-payment-action");
    stripe.confirmCardPayment(confirmForm.dataset.paymentActionSecret).then((result) => {
      if (result.error) {
        notice.className = "alert alert-danger";
        notice.textContent =
          (result.error.message || words.wordNotConfirmed || "Your bank did not confirm the payment.") +
          " " +
          (words.wordTryAgain || "Nothing was charged; you can try again.");
        return;
      }
      confirmForm.submit();
    });
  }
})();
