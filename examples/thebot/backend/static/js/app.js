(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var banner = document.querySelector("[data-env-banner]");
    if (banner && banner.dataset.envBanner !== "production") {
      banner.classList.add("admin-banner");
      banner.textContent = "THE_BOT — " + banner.dataset.envBanner;
    }
  });
})();
