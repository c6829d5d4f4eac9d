<?xml version="1.0" encoding="UTF-8"?>
<!--
  pharmacy-view.xsl - what a pharmacy may see of a case: the one place
  where the redaction of DOMAIN.md (act 2016:526) happens. Applied to the
  output of case-view.xsl, and to nothing else, before any byte of a case
  reaches a pharmacy.

  The view is BUILT, not trimmed: it copies only the resource types,
  element paths and extension URLs the allow-list below names, and drops
  everything else. A new element, extension or resource type is
  invisible to pharmacies until someone adds it to the list on purpose.

  Besides the list:
  - a resource labelled hidden-from-pharmacy (meta.security, system
    klas-security), as a Bundle entry or contained, is left out whole,
    and so is every element that refers to one (its display with it),
    or to a resource type the list does not name;
  - of LV's requests (CommunicationRequest) a pharmacy sees those
    addressed to itself, of the supplements (Communication) those it sent
    itself: never a prescriber's, nor another pharmacy's. The reading
    pharmacy's GLN comes in the parameter viewer (empty: none at all);
  - only the value attribute of an element is copied (and an
    extension's url): no element ids, no xml:lang, no other attributes;
  - the MedicationRequest is labelled REDACTED (v3-ObservationValue) so a
    reader knows that something was left out.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:f="http://hl7.org/fhir"
    xmlns="http://hl7.org/fhir"
    exclude-result-prefixes="f">
  <xsl:output method="xml" encoding="UTF-8" indent="no"/>

  <!-- The GLN of the pharmacy that reads. -->
  <xsl:param name="viewer" select="''"/>

  <!--
    THE ALLOW-LIST: what a pharmacy may see, per resource type.

    ADDING A ROW IS A PRIVACY DECISION. Each row discloses an element of
    a licence case to every pharmacy that finds it (the chosen one and
    any other that knows referensnummer and personnummer). Add a row only
    when DOMAIN.md ("Pharmacy duties") says a pharmacy needs it and it
    can never carry the indication, the motivation, free text about the
    patient or a hidden attachment; say so in the commit message.

    Rows, separated by white space:
      Type                        the resource type may be shown at all
      Type.element.child          FHIR element path from the resource;
                                  every step must be listed itself
      ...extension(URL)           an extension, by its exact url (nested
                                  extensions by their relative url)
    A contained resource is checked against the rows of its own type
    (and needs Type.contained). Two tests read this list from here:
    tests/e2e/sentinel_gen.py plants a sentinel in every element the model
    and the profiles allow and the list does not name (none may reach a
    pharmacy), and tests/fuzz/fuzz_message.c checks that a redacted view
    holds nothing the list does not name.
  -->
  <xsl:variable name="allow-table">
    Task
      Task.id
      Task.meta Task.meta.versionId Task.meta.lastUpdated
      Task.identifier Task.identifier.system Task.identifier.value
      Task.basedOn Task.basedOn.reference
      Task.basedOn.identifier Task.basedOn.identifier.system Task.basedOn.identifier.value
      Task.status
      Task.businessStatus Task.businessStatus.coding
      Task.businessStatus.coding.system Task.businessStatus.coding.code Task.businessStatus.coding.display
      Task.intent
      Task.focus Task.focus.reference
      Task.for Task.for.reference
      Task.authoredOn Task.lastModified
      Task.requester Task.requester.reference
      Task.owner Task.owner.reference
      Task.output Task.output.type Task.output.type.coding
      Task.output.type.coding.system Task.output.type.coding.code Task.output.type.text
      Task.output.valueReference Task.output.valueReference.reference
    MedicationRequest
      MedicationRequest.id
      MedicationRequest.meta MedicationRequest.meta.versionId MedicationRequest.meta.lastUpdated
      MedicationRequest.contained
      MedicationRequest.extension(http://klasgw.org/fhir/StructureDefinition/klas-licence-type)
      MedicationRequest.extension(http://klasgw.org/fhir/StructureDefinition/klas-licence-type).valueCode
      MedicationRequest.extension(http://klasgw.org/fhir/StructureDefinition/klas-beredskap)
      MedicationRequest.extension(http://klasgw.org/fhir/StructureDefinition/klas-beredskap).valueBoolean
      MedicationRequest.extension(http://klasgw.org/fhir/StructureDefinition/klas-general-level)
      MedicationRequest.extension(http://klasgw.org/fhir/StructureDefinition/klas-general-level).valueCode
      MedicationRequest.status
      MedicationRequest.intent
      MedicationRequest.medicationCodeableConcept MedicationRequest.medicationCodeableConcept.coding
      MedicationRequest.medicationCodeableConcept.coding.system MedicationRequest.medicationCodeableConcept.coding.code
      MedicationRequest.medicationCodeableConcept.text
      MedicationRequest.medicationReference MedicationRequest.medicationReference.reference
      MedicationRequest.subject MedicationRequest.subject.reference
      MedicationRequest.authoredOn
      MedicationRequest.requester MedicationRequest.requester.reference
      MedicationRequest.dosageInstruction MedicationRequest.dosageInstruction.text
      MedicationRequest.dispenseRequest
      MedicationRequest.dispenseRequest.validityPeriod
      MedicationRequest.dispenseRequest.validityPeriod.start MedicationRequest.dispenseRequest.validityPeriod.end
      MedicationRequest.dispenseRequest.quantity
      MedicationRequest.dispenseRequest.quantity.value MedicationRequest.dispenseRequest.quantity.unit
      MedicationRequest.dispenseRequest.quantity.system MedicationRequest.dispenseRequest.quantity.code
    Medication
      Medication.id
      Medication.extension(http://klasgw.org/fhir/StructureDefinition/klas-product-kind)
      Medication.extension(http://klasgw.org/fhir/StructureDefinition/klas-product-kind).valueCode
      Medication.extension(http://klasgw.org/fhir/StructureDefinition/klas-approval)
      Medication.extension(http://klasgw.org/fhir/StructureDefinition/klas-approval).extension(country)
      Medication.extension(http://klasgw.org/fhir/StructureDefinition/klas-approval).extension(country).valueString
      Medication.extension(http://klasgw.org/fhir/StructureDefinition/klas-approval).extension(number)
      Medication.extension(http://klasgw.org/fhir/StructureDefinition/klas-approval).extension(number).valueString
      Medication.extension(http://klasgw.org/fhir/StructureDefinition/klas-strength)
      Medication.extension(http://klasgw.org/fhir/StructureDefinition/klas-strength).valueString
      Medication.code Medication.code.coding Medication.code.coding.system Medication.code.coding.code
      Medication.code.text
      Medication.form Medication.form.text
      Medication.manufacturer Medication.manufacturer.display
      Medication.ingredient Medication.ingredient.itemCodeableConcept Medication.ingredient.itemCodeableConcept.text
    Patient
      Patient.id
      Patient.meta Patient.meta.security Patient.meta.security.system Patient.meta.security.code
      Patient.identifier Patient.identifier.system Patient.identifier.value
      Patient.name Patient.name.text Patient.name.family Patient.name.given
      Patient.telecom Patient.telecom.system Patient.telecom.value
      Patient.birthDate
    PractitionerRole
      PractitionerRole.id
      PractitionerRole.extension(http://klasgw.org/fhir/StructureDefinition/klas-area-of-responsibility)
      PractitionerRole.extension(http://klasgw.org/fhir/StructureDefinition/klas-area-of-responsibility).valueString
      PractitionerRole.practitioner PractitionerRole.practitioner.reference
      PractitionerRole.organization PractitionerRole.organization.reference
      PractitionerRole.code PractitionerRole.code.text
      PractitionerRole.specialty PractitionerRole.specialty.text
      PractitionerRole.telecom PractitionerRole.telecom.system PractitionerRole.telecom.value
    Practitioner
      Practitioner.id
      Practitioner.identifier Practitioner.identifier.system Practitioner.identifier.value
      Practitioner.name Practitioner.name.family Practitioner.name.given
      Practitioner.qualification Practitioner.qualification.identifier
      Practitioner.qualification.identifier.system Practitioner.qualification.identifier.value
      Practitioner.qualification.code Practitioner.qualification.code.text
    Organization
      Organization.id
      Organization.identifier Organization.identifier.system Organization.identifier.value
      Organization.name
      Organization.address Organization.address.line Organization.address.postalCode Organization.address.city
      Organization.partOf Organization.partOf.reference
    Group
      Group.id
      Group.type Group.actual Group.name
      Group.managingEntity Group.managingEntity.reference
    DocumentReference
      DocumentReference.id
      DocumentReference.status
      DocumentReference.description
      DocumentReference.content DocumentReference.content.attachment
      DocumentReference.content.attachment.contentType DocumentReference.content.attachment.data
      DocumentReference.content.attachment.size DocumentReference.content.attachment.title
    CommunicationRequest
      CommunicationRequest.id
      CommunicationRequest.basedOn CommunicationRequest.basedOn.reference
      CommunicationRequest.status
      CommunicationRequest.payload CommunicationRequest.payload.contentString
      CommunicationRequest.authoredOn
      CommunicationRequest.recipient CommunicationRequest.recipient.reference
    Communication
      Communication.id
      Communication.basedOn Communication.basedOn.reference
      Communication.inResponseTo Communication.inResponseTo.reference
      Communication.status
      Communication.sent
      Communication.sender Communication.sender.reference
      Communication.payload Communication.payload.contentString
  </xsl:variable>
  <xsl:variable name="ALLOW" select="concat(' ', normalize-space($allow-table), ' ')"/>

  <xsl:variable name="SEC" select="'http://klasgw.org/fhir/CodeSystem/klas-security'"/>
  <xsl:variable name="GLN" select="'urn:oid:2.51.1.3'"/>

  <!-- Every resource of the view by Type/id, and the hidden ones. -->
  <xsl:key name="res" use="concat(local-name(), '/', f:id/@value)"
      match="/f:Bundle/f:entry/f:resource/*"/>
  <xsl:key name="hidden" use="concat(local-name(), '/', f:id/@value)"
      match="/f:Bundle/f:entry/f:resource/*[f:meta/f:security[f:system/@value = 'http://klasgw.org/fhir/CodeSystem/klas-security' and f:code/@value = 'hidden-from-pharmacy']]"/>

  <xsl:template match="/f:Bundle">
    <Bundle>
      <xsl:if test="f:type"><type value="{f:type/@value}"/></xsl:if>
      <xsl:for-each select="f:entry[f:resource/*]">
        <xsl:variable name="r" select="f:resource/*"/>
        <xsl:if test="contains($ALLOW, concat(' ', local-name($r), ' '))
                      and not($r/f:meta/f:security[f:system/@value = $SEC and f:code/@value = 'hidden-from-pharmacy'])
                      and (not($r/self::f:CommunicationRequest) or ($viewer != '' and key('res', $r/f:recipient/f:reference/@value)/self::f:Organization/f:identifier[f:system/@value = $GLN]/f:value/@value = $viewer))
                      and (not($r/self::f:Communication) or ($viewer != '' and key('res', $r/f:sender/f:reference/@value)/self::f:Organization/f:identifier[f:system/@value = $GLN]/f:value/@value = $viewer))">
          <entry>
            <xsl:if test="f:fullUrl"><fullUrl value="{f:fullUrl/@value}"/></xsl:if>
            <resource><xsl:apply-templates select="$r" mode="resource"/></resource>
          </entry>
        </xsl:if>
      </xsl:for-each>
    </Bundle>
  </xsl:template>

  <xsl:template match="*" mode="resource">
    <xsl:element name="{local-name()}">
      <xsl:apply-templates select="*" mode="allow">
        <xsl:with-param name="path" select="local-name()"/>
      </xsl:apply-templates>
    </xsl:element>
  </xsl:template>

  <xsl:template match="f:MedicationRequest" mode="resource">
    <MedicationRequest>
      <xsl:apply-templates select="f:id" mode="allow">
        <xsl:with-param name="path" select="'MedicationRequest'"/>
      </xsl:apply-templates>
      <meta>
        <xsl:apply-templates select="f:meta/*" mode="allow">
          <xsl:with-param name="path" select="'MedicationRequest.meta'"/>
        </xsl:apply-templates>
        <security>
          <system value="http://terminology.hl7.org/CodeSystem/v3-ObservationValue"/>
          <code value="REDACTED"/>
          <display value="redacted"/>
        </security>
      </meta>
      <xsl:apply-templates select="*[not(self::f:id) and not(self::f:meta)]" mode="allow">
        <xsl:with-param name="path" select="'MedicationRequest'"/>
      </xsl:apply-templates>
    </MedicationRequest>
  </xsl:template>

  <!-- One element: copied when its path is a row and it refers to
       nothing hidden; its children are checked the same way. -->
  <xsl:template match="*" mode="allow">
    <xsl:param name="path"/>
    <xsl:variable name="p">
      <xsl:value-of select="concat($path, '.', local-name())"/>
      <xsl:if test="self::f:extension or self::f:modifierExtension">
        <xsl:value-of select="concat('(', @url, ')')"/>
      </xsl:if>
    </xsl:variable>
    <xsl:variable name="ref" select="string(f:reference/@value)"/>
    <xsl:variable name="top" select="ancestor::*[parent::f:resource]"/>
    <xsl:if test="namespace-uri() = 'http://hl7.org/fhir'
                  and contains($ALLOW, concat(' ', $p, ' '))
                  and not(contains(translate(@url, '&#9;&#10;&#13;', '   '), ' '))
                  and not(key('hidden', $ref))
                  and not(contains($ref, '/') and not(contains($ALLOW, concat(' ', substring-before($ref, '/'), ' '))))
                  and not(starts-with($ref, '#') and $top/f:contained/*[f:id/@value = substring($ref, 2)][f:meta/f:security[f:system/@value = $SEC and f:code/@value = 'hidden-from-pharmacy'] or not(contains($ALLOW, concat(' ', local-name(), ' ')))])">
      <!-- An element the list leaves empty is removed by map/view.c. -->
      <xsl:element name="{local-name()}">
        <xsl:if test="self::f:extension or self::f:modifierExtension">
          <xsl:attribute name="url"><xsl:value-of select="@url"/></xsl:attribute>
        </xsl:if>
        <xsl:if test="@value">
          <xsl:attribute name="value"><xsl:value-of select="@value"/></xsl:attribute>
        </xsl:if>
        <xsl:apply-templates select="*" mode="allow">
          <xsl:with-param name="path" select="$p"/>
        </xsl:apply-templates>
      </xsl:element>
    </xsl:if>
  </xsl:template>

  <!-- A contained resource: by the rows of its own type, never hidden. -->
  <xsl:template match="f:contained" mode="allow">
    <xsl:param name="path"/>
    <xsl:variable name="r" select="*[1]"/>
    <xsl:if test="contains($ALLOW, concat(' ', $path, '.contained '))
                  and contains($ALLOW, concat(' ', local-name($r), ' '))
                  and not($r/f:meta/f:security[f:system/@value = $SEC and f:code/@value = 'hidden-from-pharmacy'])">
      <contained><xsl:apply-templates select="$r" mode="resource"/></contained>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
